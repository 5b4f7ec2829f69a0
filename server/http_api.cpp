#include "http_api.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <sstream>

#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "service.h"
#include "web_assets.h"

namespace impasto::server {

namespace {

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message,
                const std::string& option = "") {
  Json error{{"status", status}, {"code", code}, {"message", message}};
  if (!option.empty()) error["option"] = option;
  res.status = status;
  res.set_content(json_text(Json{{"error", error}}) + "\n", "application/json");
}

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(json_text(body, 2) + "\n", "application/json");
}

// What a status without a body means, for errors the HTTP library answers itself (413 over the
// payload limit, 400 unparseable request, 404 no route).
std::string default_code(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 413: return "too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    default: return status >= 500 ? "internal" : "error";
  }
}

std::string default_message(int status, const httplib::Request& req) {
  switch (status) {
    case 400: return "malformed request (bad headers, truncated or malformed body)";
    case 404: return "no such resource: " + req.method + " " + req.path;
    case 413: return "request body too large";
    case 414: return "request URI too long";
    default: return "HTTP error " + std::to_string(status);
  }
}

std::string api_key_of(const httplib::Request& req) {
  std::string key = req.get_header_value("X-API-Key");
  if (key.empty()) {
    const std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0) key = auth.substr(7);
  }
  return key;
}

// RFC 4648 base64, for images sent inside JSON as data: URLs.
std::string base64(const std::string& bytes) {
  static const char* const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k) v = v << 8 | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? alphabet[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

// A request's multipart fields; 415 for any other body.
std::vector<FormField> form_fields(const httplib::Request& req) {
  if (!req.is_multipart_form_data())
    throw ServiceError(415, "unsupported_media_type", "send the images as multipart/form-data (fields content, style or model, options)");
  std::vector<FormField> fields;
  for (const auto& [name, f] : req.files) fields.push_back(FormField{f.name, f.filename, f.content_type, f.content});
  return fields;
}

// A raw request in memory, for handle_raw_request.
class MemoryStream : public httplib::Stream {
 public:
  explicit MemoryStream(const std::string& in) : in_(in) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, in_.size() - pos_);
    std::copy(in_.data() + pos_, in_.data() + pos_ + n, ptr);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 1;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 2;
  }
  socket_t socket() const override { return INVALID_SOCKET; }
  const std::string& output() const { return out_; }

 private:
  const std::string& in_;
  size_t pos_ = 0;
  std::string out_;
};

// A connection's socket with a deadline for each request: its headers and body must arrive within
// `deadline_s` of its first byte being awaited, and its response must be taken within `deadline_s`
// of its first byte being written. A client sending (or reading) one byte at a time holds an HTTP
// thread for at most that long, not forever (each single wait is also bounded by `idle_s`). The
// handler's own work between reading and writing is not counted: the job limits bound it.
class DeadlineSocketStream : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;
  DeadlineSocketStream(int fd, double deadline_s, double idle_s) : fd_(fd), deadline_s_(deadline_s), idle_s_(idle_s) {}

  void start_request() {
    read_deadline_ = Clock::now() + seconds(deadline_s_);
    writing_ = false;
  }
  bool deadline_hit() const { return deadline_hit_; }
  bool has_buffered() const { return pos_ < end_; }

  bool is_readable() const override { return has_buffered() || wait(POLLIN, read_deadline_); }
  bool is_writable() const override { return wait(POLLOUT, write_deadline_); }

  ssize_t read(char* ptr, size_t size) override {
    if (!has_buffered()) {  // headers are read a byte at a time: refill a buffer instead of a recv each
      if (!wait(POLLIN, read_deadline_)) return -1;
      const ssize_t n = recv(fd_, buffer_, sizeof buffer_, 0);
      if (n <= 0) return n;
      pos_ = 0;
      end_ = static_cast<size_t>(n);
    }
    const size_t n = std::min(size, end_ - pos_);
    std::copy(buffer_ + pos_, buffer_ + pos_ + n, ptr);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!writing_) {
      writing_ = true;
      write_deadline_ = Clock::now() + seconds(deadline_s_);
    }
    if (!wait(POLLOUT, write_deadline_)) return -1;
    return send(fd_, ptr, size, MSG_NOSIGNAL);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(getpeername, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(getsockname, ip, port); }
  socket_t socket() const override { return fd_; }

 private:
  static Clock::duration seconds(double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); }

  // Waits for the socket to be ready, up to the idle limit and the deadline.
  bool wait(short events, Clock::time_point deadline) const {
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0) {
      deadline_hit_ = true;
      return false;
    }
    pollfd p{fd_, events, 0};
    const int ms = static_cast<int>(std::ceil(std::min(left, idle_s_) * 1000));
    int r;
    do r = poll(&p, 1, ms);
    while (r < 0 && errno == EINTR);
    if (r == 0 && left <= idle_s_) deadline_hit_ = true;
    return r > 0;
  }

  void address(int (*query)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
    sockaddr_storage a{};
    socklen_t n = sizeof a;
    ip.clear();
    port = 0;
    if (query(fd_, reinterpret_cast<sockaddr*>(&a), &n) != 0) return;
    char text[INET6_ADDRSTRLEN] = {0};
    if (a.ss_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
      inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
      port = ntohs(v4->sin_port);
    } else if (a.ss_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
      inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
      port = ntohs(v6->sin6_port);
    }
    ip = text;
  }

  int fd_;
  double deadline_s_, idle_s_;
  Clock::time_point read_deadline_ = Clock::now(), write_deadline_ = Clock::now();
  bool writing_ = false;
  mutable bool deadline_hit_ = false;
  char buffer_[4096];
  size_t pos_ = 0, end_ = 0;
};

}  // namespace

struct HttpServer::Impl : httplib::Server {
  Impl(Service& s, Callbacks l) : service(s), log(std::move(l)) {}
  ~Impl() {
    if (listen_fd >= 0) close(listen_fd);
  }
  using httplib::Server::process_request;

  Service& service;
  Callbacks log;
  int listen_fd = -1;
  std::atomic<bool> stopping{false};
  static constexpr double kIdleSeconds = 30;      // a single wait for bytes (as the library's read/write timeouts were)
  static constexpr double kKeepAliveSeconds = 5;  // between requests on one connection
  static constexpr int kKeepAliveRequests = 100;

  // One connection, its requests one after another (keep-alive), each under the request deadline.
  void serve_connection(int fd) {
    DeadlineSocketStream stream(fd, service.options().request_deadline_s, kIdleSeconds);
    for (int n = 0; n < kKeepAliveRequests && !stopping; ++n) {
      if (n > 0 && !stream.has_buffered()) {  // idle between requests: not counted in the deadline
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(kKeepAliveSeconds * 1000)) <= 0) break;
      }
      stream.start_request();
      bool closed = false;
      const bool last = n + 1 == kKeepAliveRequests || stopping;
      if (!process_request(stream, last, closed, nullptr) || closed || last) break;
    }
    if (stream.deadline_hit()) {
      service.metrics().count_rejection("request_deadline");
      log.emit(LogLevel::debug, "connection closed: a request took longer than the request deadline to arrive or be taken");
    }
    shutdown(fd, SHUT_RDWR);
    close(fd);
  }

  // Runs a handler and turns every exception into a JSON error with the right status.
  template <class F>
  void guarded(httplib::Response& res, F&& handler) {
    try {
      handler();
    } catch (const ServiceError& e) {
      send_error(res, e.status(), e.code(), e.what());
      if (e.retry_after_s() > 0) res.set_header("Retry-After", std::to_string(static_cast<int64_t>(std::ceil(e.retry_after_s()))));
    } catch (const OptionError& e) {
      send_error(res, 400, "bad_option", e.what(), e.option());
    } catch (const LimitError& e) {
      service.metrics().count_rejection("too_large");
      send_error(res, 413, "too_large", e.what());
    } catch (const StoreError& e) {
      log.emit(LogLevel::error, e.what());
      send_error(res, 503, "store_unavailable", "the job database is not available; try again later");
      res.set_header("Retry-After", "5");
    } catch (const std::exception& e) {
      log.emit(LogLevel::error, std::string("internal error: ") + e.what());
      send_error(res, 500, "internal", "internal error; the server log has the details");
    }
  }

  // Parses and checks an upload: every problem with the request itself is the client's (4xx).
  JobRequest parse(const httplib::Request& req) {
    try {
      return parse_job_request(form_fields(req), service.options());
    } catch (const FormatError& e) {
      throw ServiceError(400, "bad_image", e.what());
    }
  }

  void send_file(httplib::Response& res, const Service::File& file) {
    res.set_content(file.bytes, file.content_type);
    res.set_header("Cache-Control", "no-store");  // private images stay out of shared caches
  }

  void routes() {
    for (const char* page : {"/", "/index.html", "/app.js", "/style.css", "/favicon.svg"}) {
      Get(page, [this](const httplib::Request& req, httplib::Response& res) {
        const WebAsset* asset = find_web_asset(req.path == "/" ? "/index.html" : req.path);
        if (!asset) return send_error(res, 404, "not_found", "no such page");
        res.set_content(reinterpret_cast<const char*>(asset->data), asset->size, asset->content_type);
        res.set_header("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'");
      });
    }
    // The gallery of built-in styles (server/web/styles/: public-domain paintings and styles.json).
    Get(R"(/styles/[A-Za-z0-9_.-]+)", [this](const httplib::Request& req, httplib::Response& res) {
      const WebAsset* asset = find_web_asset(req.path);
      if (!asset) return send_error(res, 404, "not_found", "no such style");
      res.set_content(reinterpret_cast<const char*>(asset->data), asset->size, asset->content_type);
      res.set_header("Cache-Control", "public, max-age=86400");
    });
    Get("/v1/health", [this](const httplib::Request&, httplib::Response& res) {
      guarded(res, [&] { send_json(res, 200, service.health()); });
    });
    Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      guarded(res, [&] { res.set_content(service.metrics_text(), "text/plain; version=0.0.4"); });
    });
    Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        service.authenticate(api_key_of(req));
        send_json(res, 200, service.models());
      });
    });
    // The pictures a GAN of the models folder paints for these fields, before a job uses them (the
    // page shows them): ?seed=N&count=K&truncation=T&category=C, as the job fields style_seed,
    // style_count, style_truncation and style_category. Generating costs a synchronous slot and a request token.
    Get(R"(/v1/gans/([A-Za-z0-9_.-]{1,128})/styles)", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        const Caller caller = service.authenticate(api_key_of(req));
        GanStyleRequest request;
        request.gan = req.matches[1];
        for (const auto& [param, value] : req.params) {
          if (!is_gan_style_parameter(param))
            throw OptionError(excerpt(param), "unknown parameter; valid: " + join(gan_style_parameters()));
          parse_gan_style_field(request, "style_" + param, value);
        }
        service.check_rate(caller);
        const auto slot = service.reserve_sync_slot();
        const Service::PaintedStyles painted = service.paint_styles(request);
        Json body = painted.record;
        Json images = Json::array();
        for (const auto& image : painted.images) images.push_back("data:image/png;base64," + base64(image.bytes));
        body["images"] = images;
        if (!painted.images.empty()) body["size"] = {painted.images[0].image.width(), painted.images[0].image.height()};
        res.set_header("Cache-Control", "no-store");
        send_json(res, 200, body);
      });
    });
    Post("/v1/jobs", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        const Caller caller = service.authenticate(api_key_of(req));
        service.check_rate(caller);
        const Json job = service.submit(parse(req), caller);
        res.set_header("Location", job["url"].get<std::string>());
        send_json(res, 202, job);
      });
    });
    Get("/v1/jobs", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        const Caller caller = service.authenticate(api_key_of(req));
        int limit = 50;
        if (req.has_param("limit")) limit = std::clamp(std::atoi(req.get_param_value("limit").c_str()), 1, 500);
        send_json(res, 200, Json{{"jobs", service.jobs(caller, limit)}});
      });
    });
    Get(R"(/v1/jobs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] { send_json(res, 200, service.job(req.matches[1], service.authenticate(api_key_of(req)))); });
    });
    Delete(R"(/v1/jobs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        service.remove(req.matches[1], service.authenticate(api_key_of(req)));
        send_json(res, 200, Json{{"deleted", req.matches[1].str()}});
      });
    });
    // A job's files: with the job's key (plain URLs), or by the access token of the URLs its key was
    // shown (/files/{token}/...), which need no header.
    const auto file_of = [this](const httplib::Request& req, const std::string& name, const std::string& token) {
      if (!token.empty()) return service.job_file(req.matches[1], name, Caller{}, token);
      return service.job_file(req.matches[1], name, service.authenticate(api_key_of(req)));
    };
    Get(R"(/v1/jobs/([^/]+)(?:/files/([0-9a-f]{32}))?/(result|content|style-[0-9]+|mask-[0-9]+))",
        [this, file_of](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        const auto file = file_of(req, req.matches[3], req.matches[2]);
        send_file(res, file);
        if (req.matches[3] == "result")
          res.set_header("Content-Disposition", "inline; filename=\"impasto-" + req.matches[1].str() +
                                                     file.name.substr(file.name.rfind('.')) + "\"");
      });
    });
    Get(R"(/v1/jobs/([^/]+)(?:/files/([0-9a-f]{32}))?/report)", [this](const httplib::Request& req, httplib::Response& res) {
      res.set_redirect(req.path + "/");
    });
    Get(R"(/v1/jobs/([^/]+)(?:/files/([0-9a-f]{32}))?/report/((?:figures/|inputs/)?[^/]*))",
        [this, file_of](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        send_file(res, file_of(req, "report/" + req.matches[3].str(), req.matches[2]));
        res.set_header("Content-Security-Policy", "default-src 'self' 'unsafe-inline' data:");
      });
    });
    Post("/v1/stylize", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        const Caller caller = service.authenticate(api_key_of(req));
        service.check_rate(caller);
        const auto slot = service.reserve_sync_slot();  // before decoding: refusals stay cheap
        const StylizedImage out = service.stylize_now(parse(req), slot);
        res.set_content(out.bytes, out.content_type);
        res.set_header("Cache-Control", "no-store");
        res.set_header("X-Impasto-Summary", json_text(out.summary));
      });
    });
  }

  void hooks() {
    set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Content-Type-Options", "nosniff");
      const std::string origin = req.get_header_value("Origin");
      const auto& allowed = service.options().cors_origins;
      const bool any = std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
      if (!origin.empty() && (any || std::find(allowed.begin(), allowed.end(), origin) != allowed.end())) {
        res.set_header("Access-Control-Allow-Origin", any ? "*" : origin);
        res.set_header("Vary", "Origin");
        res.set_header("Access-Control-Expose-Headers", "Location, Retry-After, X-Impasto-Summary");
        if (req.method == "OPTIONS") {
          res.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
          res.set_header("Access-Control-Allow-Headers", "Content-Type, X-API-Key, Authorization");
          res.set_header("Access-Control-Max-Age", "600");
          res.status = 204;
          return HandlerResponse::Handled;
        }
      }
      return HandlerResponse::Unhandled;
    });
    set_error_handler(HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return HandlerResponse::Unhandled;  // a handler's own JSON error
      send_error(res, res.status, default_code(res.status), default_message(res.status, req));
      return HandlerResponse::Handled;
    }));
    set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        log.emit(LogLevel::error, std::string("internal error: ") + e.what());
      } catch (...) {
      }
      send_error(res, 500, "internal", "internal error; the server log has the details");
    });
    set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      service.metrics().count_request(req.method, res.status);
      if (res.status == 413) service.metrics().count_rejection("too_large");
      log.emit(LogLevel::debug, req.method + " " + req.path + " -> " + std::to_string(res.status));
    });
  }
};

HttpServer::HttpServer(Service& service, Callbacks log) : impl_(std::make_unique<Impl>(service, std::move(log))) {
  const auto& o = service.options();
  if (!(o.request_deadline_s > 0)) throw OptionError("request_deadline", "must be > 0 seconds");
  impl_->set_payload_max_length(static_cast<size_t>(o.max_upload_bytes));
  impl_->routes();
  impl_->hooks();
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind(const std::string& host, int port) {
  if (port < 0 || port > 65535) throw OptionError("port", "must be in 0..65535");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
    throw OptionError("host", "cannot listen on " + host + " (not an address of this machine)");
  int fd = -1;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0)
    throw OptionError("port", "cannot listen on " + host + ":" + std::to_string(port) + " (in use, or not an address of this machine)");
  sockaddr_storage bound{};
  socklen_t n = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &n);
  impl_->listen_fd = fd;
  return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

void HttpServer::run() {
  // Connections wait for a free HTTP thread in the pool's queue; each is served with its deadlines.
  httplib::ThreadPool pool(static_cast<size_t>(std::max(2, impl_->service.options().http_threads)));
  while (!impl_->stopping) {
    pollfd p{impl_->listen_fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const int fd = accept4(impl_->listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    // A response goes out as headers then body: without this, the body waits for the client's delayed
    // ACK of the headers (Nagle), 40 ms a request.
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pool.enqueue([this, fd] { impl_->serve_connection(fd); });
  }
  pool.shutdown();
  close(impl_->listen_fd);
  impl_->listen_fd = -1;
}

void HttpServer::stop() {
  if (impl_) impl_->stopping = true;
}

std::string HttpServer::handle_raw_request(const std::string& bytes) {
  MemoryStream stream(bytes);
  bool closed = false;
  impl_->process_request(stream, /*close_connection=*/true, closed, nullptr);
  return stream.output();
}

}  // namespace impasto::server
