// Small helpers the API's source files share: JSON responses, errors, and
// reading request bodies.
#pragma once

#include <string>

#include "engine/canonical_json.h"
#include "engine/config.h"
#include "engine/status.h"
#include "server/http_server.h"

namespace reins::api {

HttpResponse JsonResponse(int status, const Json& body);
// {"error": {"code", "message", "field"?}}
HttpResponse Error(int status, const std::string& code, const std::string& message,
                   const std::string& field = "");
// Maps a Status to its HTTP status: InvalidArgument 400, NotFound 404,
// AlreadyExists / Conflict / FailedPrecondition 409, StorageFull 507
// `storage_full` and Unavailable 503 `unavailable` (both with Retry-After),
// Corruption 500 `corrupt_log`, others 500.
HttpResponse FromStatus(const Status& st);
// 422 for configuration that does not validate: the first error's message
// and field, and every error under "errors".
HttpResponse InvalidConfig(const std::vector<ConfigError>& errors, const Status& st);

// Parses the body as JSON; on failure `*error` is the 400 to send.
std::optional<Json> ParseBody(const HttpRequest& req, HttpResponse* error);

// Query parameter `key` as an integer clamped to [min, max] (`fallback` when
// absent); on a value that is not an integer `*error` is the 400 to send.
std::optional<int64_t> IntParam(const HttpRequest& req, const std::string& key, int64_t fallback,
                                int64_t min, int64_t max, HttpResponse* error);

// "field 'x': ..." messages from event validation name the field.
std::string FieldOf(const std::string& message);

}  // namespace reins::api
