#include "server/tokens.h"

#include <sys/stat.h>

#include <fstream>

#include "engine/testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

int Mode(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("tokens are random, and only their hashes are stored", "[tokens]") {
  TempDir dir;
  std::string file = dir.File("t/tokens.json");
  auto a = TokenStore::Create(file, Role::kAgent, "ci");
  auto b = TokenStore::Create(file, Role::kApprover, "alice");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->rfind("reins_", 0) == 0);
  CHECK(a->size() == 6 + 64);
  CHECK(*a != *b);
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  CHECK(text.find(*a) == std::string::npos);
  CHECK(text.find(HashToken(*a)) != std::string::npos);
  CHECK(Mode(file) == 0600);
  auto dup = TokenStore::Create(file, Role::kAgent, "ci");
  CHECK(dup.status().code() == Status::Code::kAlreadyExists);

  TokenStore store({}, file);
  REQUIRE(store.Reload().ok());
  auto who = store.Authenticate(*b);
  REQUIRE(who);
  CHECK(who->name == "alice");
  CHECK(who->role == Role::kApprover);
  CHECK_FALSE(store.Authenticate("reins_" + std::string(64, 'a')));
  CHECK_FALSE(store.Authenticate(""));
}

TEST_CASE("configured tokens and the file combine; a bad file keeps what was loaded", "[tokens]") {
  TempDir dir;
  std::string file = dir.File("tokens.json");
  std::string root = "reins_" + std::string(64, '1');
  TokenStore store({{"root", Role::kAdmin, HashToken(root)}}, file);
  REQUIRE(store.Reload().ok());  // no file yet: fine
  CHECK(store.Authenticate(root)->role == Role::kAdmin);
  auto agent = TokenStore::Create(file, Role::kAgent, "bot");
  REQUIRE(agent.ok());
  REQUIRE(store.ReloadIfChanged().ok());
  CHECK(store.Authenticate(*agent)->role == Role::kAgent);

  std::ofstream(file) << "[{\"name\": \"x\", \"role\": \"emperor\", \"sha256\": \"00\"}]";
  Status st = store.Reload();
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("role") != std::string::npos);
  CHECK(store.Authenticate(*agent));  // still the last good list

  // A role that is not a string is the same clear error (it used to throw).
  std::ofstream(file) << "[{\"name\": \"x\", \"role\": 3, \"sha256\": \"00\"}]";
  st = store.Reload();
  CHECK(st.message().find("token 0: role must be agent, approver or admin") != std::string::npos);
  CHECK(store.Authenticate(*agent));
}

TEST_CASE("a first start writes an admin and an approver token, once", "[tokens]") {
  TempDir dir;
  TokenStore store({}, dir.File("tokens.json"));
  auto created = store.EnsureInitialTokens(dir.path());
  REQUIRE(created.ok());
  REQUIRE(created->size() == 2);
  for (const std::string& f : *created) CHECK(Mode(f) == 0600);
  std::ifstream in(dir.File("approver.token"));
  std::string token;
  in >> token;
  CHECK(store.Authenticate(token)->role == Role::kApprover);
  auto again = store.EnsureInitialTokens(dir.path());
  REQUIRE(again.ok());
  CHECK(again->empty());
}
