#include "builtins/glob.h"

#include <catch2/catch.hpp>

using namespace reins;

TEST_CASE("glob: stars stay within a path component unless doubled", "[glob]") {
  CHECK(GlobMatch("*.pem", "key.pem"));
  CHECK_FALSE(GlobMatch("*.pem", "dir/key.pem"));
  CHECK(GlobMatch("src/*.c", "src/main.c"));
  CHECK_FALSE(GlobMatch("src/*.c", "src/sub/main.c"));
  CHECK(GlobMatch("src/**", "src/sub/main.c"));
  CHECK(GlobMatch("src/**/main.c", "src/main.c"));
  CHECK(GlobMatch("src/**/main.c", "src/a/b/main.c"));
  CHECK_FALSE(GlobMatch("src/**/main.c", "src/a/b/main.cc"));
  CHECK(GlobMatch("**/.env", ".env"));
  CHECK(GlobMatch("**/.env", "a/b/.env"));
  CHECK(GlobMatch("release/*", "release/1.2"));
  CHECK_FALSE(GlobMatch("release/*", "release/1.2/hotfix"));
  CHECK(GlobMatch("re?ease", "release"));
  CHECK_FALSE(GlobMatch("a?b", "a/b"));
  CHECK(GlobMatch("[a-c]at", "bat"));
  CHECK_FALSE(GlobMatch("[!a-c]at", "bat"));
  CHECK(GlobMatch("[!a-c]at", "rat"));
  CHECK(GlobMatch("\\*star", "*star"));
  CHECK_FALSE(GlobMatch("\\*star", "xstar"));
  CHECK(GlobMatch("[unclosed", "[unclosed"));
  CHECK(GlobMatch("", ""));
  CHECK_FALSE(GlobMatch("", "x"));
  CHECK(GlobMatch("*", ""));
}

TEST_CASE("glob: long hostile input stays linear", "[glob]") {
  std::string text(4000, 'a');
  CHECK_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*b", text));
}

TEST_CASE("path patterns: base names, home, absolute and relative", "[glob]") {
  PathPattern env(".env");
  CHECK(env.Matches(".env"));
  CHECK(env.Matches("/srv/app/.env"));
  CHECK_FALSE(env.Matches("/srv/app/.env.example"));
  PathPattern ssh("~/.ssh/**");
  CHECK(ssh.Matches("~/.ssh/id_rsa"));
  CHECK(ssh.Matches("/home/ann/.ssh/config"));
  CHECK(ssh.Matches("/root/.ssh/authorized_keys"));
  CHECK(ssh.Matches("$HOME/.ssh/known_hosts"));
  CHECK(ssh.Matches("/Users/bo/.ssh/id_ed25519"));
  CHECK_FALSE(ssh.Matches("/home/ann/ssh/config"));
  CHECK(ssh.Matches("~/.ssh"));  // "dir/**" names the directory too
  // A directory pattern covers what is inside it.
  CHECK(PathPattern("~/.ssh").Matches("/home/ann/.ssh/id_rsa"));
  CHECK(PathPattern("/etc").Matches("/etc/passwd"));
  // ".." cannot step around a pattern.
  CHECK(ssh.Matches("/home/ann/project/../.ssh/id_rsa"));
  CHECK(PathPattern("secrets.json").Matches("./config/secrets.json"));
  PathPattern rel("config/*.yaml");
  CHECK(rel.Matches("config/prod.yaml"));
  CHECK(rel.Matches("/srv/app/config/prod.yaml"));
  CHECK(rel.Matches("prod.yaml", "/srv/app/config"));
  CHECK_FALSE(rel.Matches("/srv/app/configs/prod.yaml"));
}
