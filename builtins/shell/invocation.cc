// IsInvocation and MightBeInvocation: matching a SimpleCommand against a
// program name and leading words, skipping git's global options.
#include <algorithm>

#include "builtins/shell/parser.h"

namespace reins::shell::internal {

// git's global options, before the subcommand (git(1)).
namespace {

enum class Skip { kAt, kDynamic, kUnknown };

Skip SkipGitOptions(const SimpleCommand& cmd, size_t* k) {
  static constexpr std::string_view kInline[] = {
      "--git-dir=",    "--work-tree=", "--namespace=", "--super-prefix=",
      "--config-env=", "--exec-path=", "--list-cmds="};
  while (*k < cmd.argv.size()) {
    if (cmd.dynamic[*k]) return Skip::kDynamic;
    std::string_view a = cmd.argv[*k];
    if (a.empty() || a[0] != '-') return Skip::kAt;
    if (InList("-p -P --paginate --no-pager --bare --no-replace-objects --no-lazy-fetch "
               "--literal-pathspecs --glob-pathspecs --noglob-pathspecs --icase-pathspecs "
               "--no-optional-locks --no-advice",
               a)) {
      *k += 1;
    } else if (InList("-C -c --git-dir --work-tree --namespace --super-prefix --config-env", a)) {
      // Its value may be missing ("git -C"): never past the end of argv.
      *k = std::min(*k + 2, cmd.argv.size());
    } else {
      bool known = false;
      for (std::string_view p : kInline) known = known || a.substr(0, p.size()) == p;
      if (!known) return Skip::kUnknown;
      *k += 1;
    }
  }
  return Skip::kAt;
}

// 1: matches; 0: does not; -1: a dynamic word decides. On a match, *end is
// the index just past the matched words.
int Match(const SimpleCommand& cmd, std::string_view name, const std::string_view* words,
          size_t count, size_t* end = nullptr) {
  if (cmd.name != name || cmd.argv.empty()) return 0;
  size_t k = 1;
  if (name == "git") {
    Skip s = SkipGitOptions(cmd, &k);
    if (s == Skip::kDynamic) return -1;
    if (s == Skip::kUnknown) return 0;
  }
  for (size_t w = 0; w < count; ++w, ++k) {
    if (k >= cmd.argv.size()) return 0;
    if (cmd.dynamic[k]) return -1;
    if (cmd.argv[k] != words[w]) return 0;
  }
  if (end) *end = k;
  return 1;
}

}  // namespace

}  // namespace reins::shell::internal

namespace reins::shell {

bool IsInvocation(const SimpleCommand& cmd, std::string_view name,
                  std::initializer_list<std::string_view> words) {
  return internal::Match(cmd, name, words.begin(), words.size()) == 1;
}

bool IsInvocation(const SimpleCommand& cmd, std::string_view name,
                  const std::vector<std::string>& words) {
  std::vector<std::string_view> views(words.begin(), words.end());
  return internal::Match(cmd, name, views.data(), views.size()) == 1;
}

size_t InvocationEnd(const SimpleCommand& cmd, std::string_view name,
                     std::initializer_list<std::string_view> words) {
  size_t end = std::string::npos;
  return internal::Match(cmd, name, words.begin(), words.size(), &end) == 1 ? end
                                                                            : std::string::npos;
}

bool MightBeInvocation(const SimpleCommand& cmd, std::string_view name,
                       std::initializer_list<std::string_view> words) {
  return !cmd.resolved || internal::Match(cmd, name, words.begin(), words.size()) != 0;
}

}  // namespace reins::shell
