#include "engine/status.h"

namespace reins {

std::string Status::ToString() const {
  const char* name = "";
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      name = "Invalid argument";
      break;
    case Code::kNotFound:
      name = "Not found";
      break;
    case Code::kAlreadyExists:
      name = "Already exists";
      break;
    case Code::kConflict:
      name = "Conflict";
      break;
    case Code::kFailedPrecondition:
      name = "Failed precondition";
      break;
    case Code::kIOError:
      name = "I/O error";
      break;
    case Code::kCorruption:
      name = "Corruption";
      break;
    case Code::kInternal:
      name = "Internal error";
      break;
    case Code::kStorageFull:
      name = "Storage full";
      break;
    case Code::kUnavailable:
      name = "Unavailable";
      break;
  }
  return std::string(name) + ": " + message_;
}

}  // namespace reins
