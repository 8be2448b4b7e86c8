// Glob and path-pattern matching for builtins (and Lua's reins.glob).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reins {

// Shell-style glob over '/'-separated paths: `*` and `?` never cross '/',
// `**` matches any run of characters including '/', a `**/` segment also
// matches nothing ("a/**/b" matches "a/b"), `[abc]`, `[a-z]` and `[!x]`
// are classes, and `\` escapes the next character. The whole text must match.
// A Glob is compiled once; matching takes O(pattern * text) time and
// allocates nothing for texts up to 1 KiB.
class Glob {
 public:
  explicit Glob(std::string_view pattern);
  bool Match(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

  struct Token {
    enum Kind : uint8_t { kChar, kAnyOne, kClass, kStar, kGlobStar, kGlobStarSlash };
    Kind kind;
    char c;
    bool negate;
    std::string set;  // kClass: characters and ranges expanded
  };

 private:
  // Declared before tokens_: Tokenize fills them while tokens_ is built.
  bool literal_ = true;  // no wildcard: compare bytes
  std::string literal_text_;
  std::string pattern_;
  std::vector<Token> tokens_;
  // Literal characters every match starts and ends with: most texts fail
  // these byte comparisons and never reach the dynamic program.
  std::string prefix_, suffix_;
};

// One-off match (compiles `pattern` each time; keep a Glob for hot paths).
bool GlobMatch(std::string_view pattern, std::string_view text);

// A file-path pattern as restrict_paths and self_protect use it:
//   - no '/' in it ("*.pem", ".env"): matches the base name at any depth;
//   - starting with "~/": the home directory, written as "~", "$HOME",
//     "${HOME}", "/home/USER", "/Users/USER" or "/root";
//   - absolute: the absolute path;
//   - otherwise relative: matched under the session's working directory and
//     also at any directory boundary ("config/*.yaml" matches
//     "/srv/app/config/prod.yaml").
// A pattern naming a directory covers everything under it: "~/.ssh" matches
// "~/.ssh/id_rsa". Paths are normalized lexically first ("a/./b/../c" is
// "a/c"), so ".." cannot step around a pattern.
class PathPattern {
 public:
  explicit PathPattern(std::string pattern);
  bool Matches(std::string_view path, std::string_view cwd = {}) const;
  // The same for PathCandidates(path, cwd), computed once for many patterns.
  bool MatchesCandidates(const std::vector<std::string>& candidates) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  bool basename_only_ = false;
  bool anchored_ = false;    // starts with '/' or '~'
  Glob glob_;                // the pattern
  Glob anywhere_;            // "**/" + pattern, for relative patterns
  std::optional<Glob> dir_;  // "dir" for a "dir/**" pattern
};

// Lexically normalized forms of `path` to match against: the path itself,
// its absolute form under `cwd` when relative, and its "~/..." form when it
// lies in a home directory.
std::vector<std::string> PathCandidates(std::string_view path, std::string_view cwd);

// The same, remembered per thread: several policies check the same paths of
// one tool call. The reference is valid until this thread's next call.
const std::vector<std::string>& CachedPathCandidates(std::string_view path, std::string_view cwd);

}  // namespace reins
