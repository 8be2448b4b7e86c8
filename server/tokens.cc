#include "server/tokens.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/canonical_json.h"
#include "engine/clock.h"
#include "engine/json_fields.h"

namespace reins {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "reins_";

int64_t MtimeNs(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// The token file's entries, validated; an empty list when it does not exist.
Result<Json> ReadTokenList(const std::string& path, std::vector<TokenEntry>* entries) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return Json::array();
    return Status::IOError(Errno("cannot read", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  Json j = Json::parse(ss.str(), nullptr, false);
  if (!j.is_array()) return Status::InvalidArgument(path + ": expected a JSON array of tokens");
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& t = j[i];
    std::string where = path + ": token " + std::to_string(i);
    if (!t.is_object() || !t.value("name", Json()).is_string() ||
        !t.value("sha256", Json()).is_string()) {
      return Status::InvalidArgument(where + ": needs a name and a sha256");
    }
    auto role = RoleFromName(JsonString(t, "role"));
    if (!role) return Status::InvalidArgument(where + ": role must be agent, approver or admin");
    std::string hash = t["sha256"];
    if (hash.size() != 64) return Status::InvalidArgument(where + ": sha256 must be 64 hex digits");
    entries->push_back({t["name"], *role, hash});
  }
  return j;
}

// Writes `text` to `path` with mode 0600, replacing it atomically.
Status WritePrivate(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(Errno("cannot create", tmp));
  ::fchmod(fd, 0600);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError(Errno("cannot write", path));
  }
  return Status::OK();
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAgent:
      return "agent";
    case Role::kApprover:
      return "approver";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

std::optional<Role> RoleFromName(std::string_view name) {
  if (name == "agent") return Role::kAgent;
  if (name == "approver") return Role::kApprover;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

std::string HashToken(std::string_view token) { return Sha256Hex(token); }

Result<std::string> NewToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::Internal("no random bytes for a token");
  static const char* kHex = "0123456789abcdef";
  std::string token(kPrefix);
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  return token;
}

TokenStore::TokenStore(std::vector<TokenEntry> configured, std::string file)
    : configured_(std::move(configured)), file_(std::move(file)) {
  std::lock_guard lock(mu_);
  for (const TokenEntry& t : configured_) by_hash_[t.sha256] = {t.name, t.role};
}

Status TokenStore::SetConfigured(std::vector<TokenEntry> configured) {
  {
    std::lock_guard lock(mu_);
    configured_ = std::move(configured);
  }
  return Reload();
}

Status TokenStore::Reload() {
  int64_t mtime = file_.empty() ? 0 : MtimeNs(file_);
  std::vector<TokenEntry> created;
  if (!file_.empty()) {
    auto read = ReadTokenList(file_, &created);
    if (!read.ok()) return read.status();
  }
  std::map<std::string, Principal, std::less<>> by_hash;
  std::lock_guard lock(mu_);
  for (const TokenEntry& t : created) by_hash[t.sha256] = {t.name, t.role};
  for (const TokenEntry& t : configured_) by_hash[t.sha256] = {t.name, t.role};
  by_hash_ = std::move(by_hash);
  file_mtime_ns_ = mtime;
  return Status::OK();
}

Status TokenStore::ReloadIfChanged() {
  {
    std::lock_guard lock(mu_);
    if (file_.empty() || MtimeNs(file_) == file_mtime_ns_) return Status::OK();
  }
  return Reload();
}

std::optional<Principal> TokenStore::Authenticate(std::string_view token) const {
  if (token.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string hash = HashToken(token);
  std::lock_guard lock(mu_);
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

size_t TokenStore::size() const {
  std::lock_guard lock(mu_);
  return by_hash_.size();
}

Result<std::string> TokenStore::Create(const std::string& file, Role role,
                                       const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("a token needs a name");
  std::error_code ec;
  fs::create_directories(fs::path(file).parent_path(), ec);
  // Serialize concurrent creators on a lock file beside the token file.
  std::string lock_path = file + ".lock";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return Status::IOError(Errno("cannot open", lock_path));
  ::flock(lock_fd, LOCK_EX);
  auto finish = [&](Result<std::string> r) {
    ::flock(lock_fd, LOCK_UN);
    ::close(lock_fd);
    return r;
  };
  std::vector<TokenEntry> existing;
  auto read = ReadTokenList(file, &existing);
  if (!read.ok()) return finish(read.status());
  Json list = std::move(read).value();
  for (const TokenEntry& t : existing) {
    if (t.name == name) {
      return finish(Status::AlreadyExists("a token named '" + name + "' exists in " + file));
    }
  }
  auto token = NewToken();
  if (!token.ok()) return finish(token.status());
  list.push_back({{"name", name},
                  {"role", RoleName(role)},
                  {"sha256", HashToken(*token)},
                  {"created_at", FormatRfc3339(SystemClock().Now())}});
  Status st = WritePrivate(file, list.dump(2) + "\n");
  if (!st.ok()) return finish(st);
  return finish(std::move(token).value());
}

Result<std::vector<std::string>> TokenStore::EnsureInitialTokens(const std::string& dir) {
  REINS_RETURN_IF_ERROR(Reload());
  std::vector<std::string> written;
  if (size() > 0) return written;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  for (Role role : {Role::kAdmin, Role::kApprover}) {
    std::string name = std::string(RoleName(role));
    auto token = Create(file_, role, name);
    if (!token.ok()) return token.status();
    std::string path = (fs::path(dir) / (name + ".token")).string();
    REINS_RETURN_IF_ERROR(WritePrivate(path, *token + "\n"));
    written.push_back(path);
  }
  REINS_RETURN_IF_ERROR(Reload());
  return written;
}

}  // namespace reins
