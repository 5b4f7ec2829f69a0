#pragma once
// A private PostgreSQL server for tests: Debian's server binaries (initdb, pg_ctl) run in a temporary
// folder, listening on a free loopback port, as an unprivileged user (`nobody` when the tests run as
// root, which initdb refuses). Started once per test process on first use, stopped at exit. Where the
// binaries are missing, tests skip with a message naming them (CI installs them:
// scripts/install-deps.sh).
#include <string>

namespace impasto::test {

class PostgresServer {
 public:
  // The process's server, started on first call.
  static PostgresServer& get();
  bool available() const { return !uri_base_.empty(); }
  const std::string& why_not() const { return why_not_; }  // when not available
  // A new, empty database; its libpq URI (postgresql://impasto@127.0.0.1:PORT/NAME).
  std::string fresh_database(const std::string& name);

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;
  ~PostgresServer();

 private:
  PostgresServer();
  std::string dir_;        // the temporary folder: data/, server.log, the socket
  std::string bin_;        // folder of initdb and pg_ctl
  std::string as_user_;    // "setpriv ..." prefix when running as root
  std::string uri_base_;   // postgresql://impasto@127.0.0.1:PORT/
  std::string why_not_;
  int databases_ = 0;
};

// GTEST_SKIP()s the calling test when the server is not available.
#define IMPASTO_REQUIRE_POSTGRES()                                                                 \
  do {                                                                                             \
    if (!::impasto::test::PostgresServer::get().available())                                       \
      GTEST_SKIP() << "PostgreSQL not available: " << ::impasto::test::PostgresServer::get().why_not(); \
  } while (0)

}  // namespace impasto::test
