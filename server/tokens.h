// Roles and bearer tokens for the HTTP API.
//
// A token is "reins_" followed by 64 hex digits (32 random bytes). Only its
// SHA-256 is ever stored: in the server configuration (`server.tokens`) or in
// the token file, a JSON array the `reins token create` command appends to:
//
//   [{"name": "ci-agent", "role": "agent", "sha256": "<hex>",
//     "created_at": "2026-11-21T08:45:00.000000Z"}, ...]
//
// The file and the first-start token files (DIR/admin.token,
// DIR/approver.token, which hold the tokens themselves) are created with mode
// 0600, readable only by their owner; the default self_protect policy keeps
// agents from reading them.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace reins {

// What a token may do (docs/api.md has the full matrix):
//   agent     create sessions, append events, read its own sessions
//   approver  resolve approvals, manage session policies, read every log
//   admin     all of that, and server policies
enum class Role : uint8_t { kAgent, kApprover, kAdmin };
std::string_view RoleName(Role role);
std::optional<Role> RoleFromName(std::string_view name);

struct Principal {
  std::string name;
  Role role = Role::kAgent;
};

struct TokenEntry {
  std::string name;
  Role role = Role::kAgent;
  std::string sha256;  // lowercase hex
};

std::string HashToken(std::string_view token);
// A new random token (OpenSSL's CSPRNG).
Result<std::string> NewToken();

// The tokens a server accepts. Thread-safe.
class TokenStore {
 public:
  // `configured` come from the server configuration; `file` (may not exist)
  // holds the created ones.
  TokenStore(std::vector<TokenEntry> configured, std::string file);

  // Replaces the tokens from the configuration (a reload), then Reload().
  Status SetConfigured(std::vector<TokenEntry> configured);

  // Reads the token file again. A missing file means no created tokens; a
  // malformed one is an error and leaves the current tokens in place.
  Status Reload();
  // Reload() only if the file changed since it was last read.
  Status ReloadIfChanged();

  std::optional<Principal> Authenticate(std::string_view token) const;
  size_t size() const;
  const std::string& file() const { return file_; }

  // Creates a token for `role` named `name`, appends its hash to `file`
  // (created 0600 if missing) and returns the token, which is shown once.
  static Result<std::string> Create(const std::string& file, Role role, const std::string& name);

  // On a server's first start, when there are no tokens at all: creates an
  // admin and an approver token, writes each to DIR/ROLE.token (0600) and
  // adds their hashes to the token file. Returns the files written (none
  // when tokens already exist).
  Result<std::vector<std::string>> EnsureInitialTokens(const std::string& dir);

 private:
  std::vector<TokenEntry> configured_;
  std::string file_;
  mutable std::mutex mu_;
  std::map<std::string, Principal, std::less<>> by_hash_;
  int64_t file_mtime_ns_ = -1;  // -1: not read yet; 0: absent
};

}  // namespace reins
