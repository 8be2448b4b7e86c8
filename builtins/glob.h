// Glob and path-pattern matching for builtins (and Lua's reins.glob).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace reins {

// Shell-style glob over '/'-separated paths: `*` and `?` never cross '/',
// `**` matches any run of characters including '/', a `**/` segment also
// matches nothing ("a/**/b" matches "a/b"), `[abc]`, `[a-z]` and `[!x]`
// are classes, and `\` escapes the next character. The whole text must match.
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
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  bool basename_only_ = false;
};

// Lexically normalized forms of `path` to match against: the path itself,
// its absolute form under `cwd` when relative, and its "~/..." form when it
// lies in a home directory.
std::vector<std::string> PathCandidates(std::string_view path, std::string_view cwd);

}  // namespace reins
