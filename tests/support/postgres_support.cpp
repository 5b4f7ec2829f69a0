#include "postgres_support.h"

#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace impasto::test {

namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin.
std::string find_server_binaries() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':'))
      if (!dir.empty() && fs::exists(fs::path(dir) / "initdb") && fs::exists(fs::path(dir) / "pg_ctl")) return dir;
  }
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& v : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(v.path() / "bin" / "initdb") && fs::exists(v.path() / "bin" / "pg_ctl")) found.push_back(v.path() / "bin");
  if (found.empty()) return "";
  std::sort(found.begin(), found.end());
  return found.back().string();
}

int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  int port = 0;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && getsockname(s, reinterpret_cast<sockaddr*>(&a), &n) == 0)
    port = ntohs(a.sin_port);
  close(s);
  return port;
}

std::string tail_of(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  const std::string text = s.str();
  return text.size() > 1500 ? text.substr(text.size() - 1500) : text;
}

}  // namespace

PostgresServer& PostgresServer::get() {
  static PostgresServer server;
  return server;
}

PostgresServer::PostgresServer() {
  bin_ = find_server_binaries();
  if (bin_.empty()) {
    why_not_ = "no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin (Debian package postgresql)";
    return;
  }
  char tmpl[] = "/tmp/impasto-pg-XXXXXX";
  if (!mkdtemp(tmpl)) {
    why_not_ = "cannot create a temporary folder";
    return;
  }
  dir_ = tmpl;
  if (geteuid() == 0) {  // initdb refuses root: run the server as nobody
    if (chown(dir_.c_str(), 65534, 65534) != 0) {
      why_not_ = "cannot give " + dir_ + " to nobody";
      return;
    }
    as_user_ = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  }
  const std::string data = dir_ + "/data";
  const std::string initdb = as_user_ + shell_quote(bin_ + "/initdb") + " -D " + shell_quote(data) +
                             " -U impasto -A trust -E UTF8 --no-sync > " + shell_quote(dir_ + "/initdb.log") + " 2>&1";
  if (std::system(initdb.c_str()) != 0) {
    why_not_ = "initdb failed: " + tail_of(dir_ + "/initdb.log");
    return;
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int port = free_port();
    const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port) + " -c unix_socket_directories=" + dir_ +
                                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60";
    const std::string start = as_user_ + shell_quote(bin_ + "/pg_ctl") + " -D " + shell_quote(data) + " -l " +
                              shell_quote(dir_ + "/server.log") + " -w -t 60 -o " + shell_quote(options) + " start > /dev/null 2>&1";
    if (std::system(start.c_str()) == 0) {
      uri_base_ = "postgresql://impasto@127.0.0.1:" + std::to_string(port) + "/";
      return;
    }
  }
  why_not_ = "pg_ctl start failed: " + tail_of(dir_ + "/server.log");
}

PostgresServer::~PostgresServer() {
  if (dir_.empty()) return;
  if (available()) {
    const std::string stop = as_user_ + shell_quote(bin_ + "/pg_ctl") + " -D " + shell_quote(dir_ + "/data") + " -m immediate stop > /dev/null 2>&1";
    (void)std::system(stop.c_str());
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PostgresServer::fresh_database(const std::string& name) {
  const std::string db = name + "_" + std::to_string(getpid()) + "_" + std::to_string(++databases_);
  PGconn* c = PQconnectdb((uri_base_ + "postgres").c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    const std::string message = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot reach the test PostgreSQL: " + message);
  }
  PGresult* r = PQexec(c, ("CREATE DATABASE " + db).c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string message = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("CREATE DATABASE " + db + " failed: " + message);
  return uri_base_ + db;
}

}  // namespace impasto::test
