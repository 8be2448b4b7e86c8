// gmail_policy, gdrive_policy, gcalendar_policy: Google Workspace through MCP
// (docs/policies.md#gmail_policy).
//
// A tool belongs to a service when its name, after one of `tool_prefixes`
// (mcp__google__, google__, mcp__gmail__, ...) is stripped, is in the
// service's table, which lists the names of the common servers (the
// Databricks-hosted Google MCP, google_workspace_mcp, Gmail-MCP-Server,
// google-calendar-mcp, server-gdrive). An unlisted tool behind a service's
// prefix is denied (fail closed); other tools are left alone.
#include <algorithm>
#include <map>
#include <set>

#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "engine/json_fields.h"
#include "engine/session_view.h"

namespace reins {

namespace {

enum class Op { kRead, kSend, kDraftCreate, kDraftWrite, kModify, kCreate, kWrite, kComment };

struct Service {
  const char* name;         // "gmail"
  const char* what;         // "Gmail"
  const char* created_key;  // state key of ids created this session
  std::vector<std::pair<const char*, Op>> tools;
  std::vector<const char*> owned_words;  // an unlisted tool containing one is the service's
  std::vector<const char*> default_prefixes;
};

const Service kGmail = {"gmail",
                        "Gmail",
                        "gmail_created_draft_ids",
                        {{"gmail_search", Op::kRead},
                         {"gmail_message_list", Op::kRead},
                         {"gmail_message_get", Op::kRead},
                         {"gmail_thread_list", Op::kRead},
                         {"gmail_thread_get", Op::kRead},
                         {"gmail_profile_get", Op::kRead},
                         {"search_gmail_messages", Op::kRead},
                         {"get_gmail_message_content", Op::kRead},
                         {"get_gmail_messages_content_batch", Op::kRead},
                         {"get_gmail_thread_content", Op::kRead},
                         {"get_gmail_threads_content_batch", Op::kRead},
                         {"get_gmail_attachment_content", Op::kRead},
                         {"list_gmail_labels", Op::kRead},
                         {"list_gmail_filters", Op::kRead},
                         {"read_email", Op::kRead},
                         {"search_emails", Op::kRead},
                         {"list_email_labels", Op::kRead},
                         {"gmail_message_send", Op::kSend},
                         {"send_gmail_message", Op::kSend},
                         {"send_email", Op::kSend},
                         {"gmail_draft_send", Op::kSend},
                         {"send_draft", Op::kSend},
                         {"gmail_draft_create", Op::kDraftCreate},
                         {"draft_gmail_message", Op::kDraftCreate},
                         {"draft_email", Op::kDraftCreate},
                         {"create_draft", Op::kDraftCreate},
                         {"gmail_draft_update", Op::kDraftWrite},
                         {"gmail_draft_delete", Op::kDraftWrite},
                         {"update_draft", Op::kDraftWrite},
                         {"delete_draft", Op::kDraftWrite},
                         {"gmail_message_modify", Op::kModify},
                         {"gmail_thread_modify", Op::kModify},
                         {"gmail_message_trash", Op::kModify},
                         {"modify_gmail_message_labels", Op::kModify},
                         {"batch_modify_gmail_message_labels", Op::kModify},
                         {"manage_gmail_label", Op::kModify},
                         {"manage_gmail_filter", Op::kModify},
                         {"modify_email", Op::kModify},
                         {"batch_modify_emails", Op::kModify},
                         {"delete_email", Op::kModify},
                         {"batch_delete_emails", Op::kModify},
                         {"create_label", Op::kModify},
                         {"update_label", Op::kModify},
                         {"delete_label", Op::kModify},
                         {"get_or_create_label", Op::kModify}},
                        {"gmail", "email", "draft"},
                        {"mcp__google__", "google__", "mcp__gmail__", "mcp__google-workspace__",
                         "mcp__google_workspace__"}};

const Service kDrive = {
    "gdrive",
    "Google Drive",
    "gdrive_created_file_ids",
    {{"docs_document_get", Op::kRead},
     {"docs_document_list", Op::kRead},
     {"docs_document_inspect_structure", Op::kRead},
     {"docs_document_export", Op::kRead},
     {"docs_document_export_as_markdown", Op::kRead},
     {"docs_document_search", Op::kRead},
     {"drive_search", Op::kRead},
     {"drive_file_get", Op::kRead},
     {"drive_file_list", Op::kRead},
     {"drive_file_export", Op::kRead},
     {"drive_comment_list", Op::kRead},
     {"drive_comment_get", Op::kRead},
     {"sheets_search", Op::kRead},
     {"sheets_spreadsheet_get", Op::kRead},
     {"sheets_values_get", Op::kRead},
     {"sheets_values_batch_get", Op::kRead},
     {"sheets_grid_data_get", Op::kRead},
     {"slides_search", Op::kRead},
     {"slides_presentation_get", Op::kRead},
     {"slides_page_get", Op::kRead},
     {"search_drive_files", Op::kRead},
     {"get_drive_file_content", Op::kRead},
     {"get_drive_file_download_url", Op::kRead},
     {"list_drive_items", Op::kRead},
     {"get_drive_file_permissions", Op::kRead},
     {"check_drive_file_public_access", Op::kRead},
     {"gdrive_search", Op::kRead},
     {"gdrive_read_file", Op::kRead},
     {"gdrive_list_all", Op::kRead},
     {"get_doc_content", Op::kRead},
     {"read_sheet_values", Op::kRead},
     {"docs_document_create", Op::kCreate},
     {"docs_document_create_from_markdown", Op::kCreate},
     {"drive_file_create", Op::kCreate},
     {"sheets_spreadsheet_create", Op::kCreate},
     {"slides_presentation_create", Op::kCreate},
     {"create_drive_file", Op::kCreate},
     {"create_drive_folder", Op::kCreate},
     {"import_to_google_doc", Op::kCreate},
     {"copy_drive_file", Op::kCreate},
     {"create_doc", Op::kCreate},
     {"create_spreadsheet", Op::kCreate},
     {"drive_comment_create", Op::kComment},
     {"drive_comment_reply_create", Op::kComment},
     {"docs_document_batch_update", Op::kWrite},
     {"docs_document_edit_section", Op::kWrite},
     {"docs_document_apply_template_styles", Op::kWrite},
     {"drive_file_update", Op::kWrite},
     {"drive_file_delete", Op::kWrite},
     {"drive_file_copy", Op::kWrite},
     {"sheets_values_update", Op::kWrite},
     {"sheets_values_append", Op::kWrite},
     {"sheets_spreadsheet_batch_update", Op::kWrite},
     {"slides_presentation_batch_update", Op::kWrite},
     {"update_drive_file", Op::kWrite},
     {"modify_doc_text", Op::kWrite},
     {"batch_update_doc", Op::kWrite},
     {"modify_sheet_values", Op::kWrite},
     {"manage_drive_access", Op::kWrite},
     {"set_drive_file_permissions", Op::kWrite},
     {"get_drive_shareable_link", Op::kWrite}},
    {"docs_", "drive", "sheets_", "slides_", "_doc", "sheet"},
    {"mcp__google__", "google__", "mcp__gdrive__", "mcp__google-drive__", "mcp__google_drive__",
     "mcp__google-workspace__", "mcp__google_workspace__"}};

const Service kCalendar = {
    "gcalendar",
    "Google Calendar",
    "gcalendar_created_event_ids",
    {{"calendar_search", Op::kRead},
     {"calendar_event_list", Op::kRead},
     {"calendar_event_get", Op::kRead},
     {"calendar_calendar_list", Op::kRead},
     {"calendar_freebusy_query", Op::kRead},
     {"list_calendars", Op::kRead},
     {"get_events", Op::kRead},
     {"query_freebusy", Op::kRead},
     {"list-calendars", Op::kRead},
     {"list-events", Op::kRead},
     {"search-events", Op::kRead},
     {"get-freebusy", Op::kRead},
     {"list-colors", Op::kRead},
     {"get-event", Op::kRead},
     {"calendar_event_create", Op::kCreate},
     {"calendar_calendar_create", Op::kCreate},
     {"create-event", Op::kCreate},
     {"calendar_event_update", Op::kModify},
     {"calendar_event_delete", Op::kModify},
     {"update-event", Op::kModify},
     {"delete-event", Op::kModify},
     {"manage_event", Op::kModify}},  // create, update or delete by its `action`
    {"calendar", "event", "freebusy"},
    {"mcp__google__", "google__", "mcp__gcalendar__", "mcp__calendar__", "mcp__google-calendar__",
     "mcp__google_calendar__", "mcp__google-workspace__", "mcp__google_workspace__"}};

const char* const kIdKeys[] = {"draft_id",
                               "draftId",
                               "file_id",
                               "fileId",
                               "document_id",
                               "documentId",
                               "spreadsheet_id",
                               "spreadsheetId",
                               "presentation_id",
                               "presentationId",
                               "event_id",
                               "eventId",
                               "id"};

// A Google file URL's id ("/document/d/ID/", "/file/d/ID", "?id=ID"), or the text itself.
std::string NormalizeId(std::string id) {
  for (std::string_view marker : {"/d/", "id="}) {
    size_t pos = id.find(marker);
    if (pos == std::string::npos) continue;
    std::string rest = id.substr(pos + marker.size());
    return rest.substr(0, rest.find_first_of("/?&#"));
  }
  return id;
}

// The ids a tool call's input names.
std::vector<std::string> InputIds(const Json& input) {
  std::vector<std::string> out;
  for (const char* key : kIdKeys) {
    auto it = input.find(key);
    if (it != input.end() && it->is_string()) out.push_back(NormalizeId(it->get<std::string>()));
  }
  return out;
}

// The id a create tool's result reports (top level or one level down).
std::string ResultId(const Json& output) {
  Json v = output.is_string() ? Json::parse(output.get<std::string>(), nullptr, false) : output;
  if (!v.is_object()) return {};
  for (int depth = 0; depth < 2 && v.is_object(); ++depth) {
    for (const char* key : kIdKeys) {
      auto it = v.find(key);
      if (it != v.end() && it->is_string()) return it->get<std::string>();
    }
    auto nested = std::find_if(v.begin(), v.end(), [](const Json& c) { return c.is_object(); });
    if (nested == v.end()) break;
    v = Json(*nested);
  }
  return {};
}

class GooglePolicy : public Policy {
 public:
  GooglePolicy(const Json& params, std::vector<ParamError>*, const Service* service)
      : service_(service), params_(params) {
    for (const auto& [tool, op] : service->tools) ops_.emplace(tool, op);
    prefixes_ = StringList(params, "tool_prefixes");
    std::sort(prefixes_.begin(), prefixes_.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  }

  EvalResult Evaluate(const Event& event, const SessionView& session) const override {
    std::string name(event.tool());
    bool prefixed = false;
    for (const std::string& p : prefixes_) {
      if (name.rfind(p, 0) == 0) {
        name = name.substr(p.size());
        prefixed = true;
        break;
      }
    }
    auto entry = ops_.find(name);
    if (entry == ops_.end()) {
      bool owned = prefixed && std::any_of(service_->owned_words.begin(),
                                           service_->owned_words.end(), [&](const char* w) {
                                             return Lower(name).find(w) != std::string::npos;
                                           });
      if (!owned || event.type() != EventType::kToolCall) return std::optional<PolicyResult>();
      return Deny("unrecognized " + std::string(service_->what) + " operation '" + name + "'.");
    }
    Op op = entry->second;
    if (name == "manage_event")
      op = Lower(JsonString(event.input(), "action")) == "create" ? Op::kCreate : Op::kModify;
    if (event.type() == EventType::kToolResult) return Track(event, op);
    return Decide(event, session, op);
  }

 private:
  PolicyResult Deny(const std::string& why) const {
    return PolicyResult::Deny(params_.value("deny_reason", "") + " " + why);
  }

  bool Flag(const char* name) const { return params_.value(name, false); }

  bool Listed(const char* param, const std::vector<std::string>& ids, const Json* created) const {
    std::vector<std::string> listed = StringList(params_, param);
    for (std::string& l : listed) l = NormalizeId(l);
    for (const std::string& id : ids) {
      bool ok = std::find(listed.begin(), listed.end(), id) != listed.end() ||
                (created && created->is_array() &&
                 std::find(created->begin(), created->end(), Json(id)) != created->end());
      if (ok) return true;
    }
    return false;
  }

  // Remembers what this session created, so later writes to it pass.
  EvalResult Track(const Event& event, Op op) const {
    if (op != Op::kDraftCreate && op != Op::kCreate) return std::optional<PolicyResult>();
    if (event.GetBool("is_error") || !event.Get("output")) return std::optional<PolicyResult>();
    std::string id = ResultId(*event.Get("output"));
    if (id.empty()) return std::optional<PolicyResult>();
    return PolicyResult::Allow().With(StateUpdate::Append(service_->created_key, id));
  }

  EvalResult Decide(const Event& event, const SessionView& session, Op op) const {
    const Json* created = session.Get(service_->created_key);
    std::vector<std::string> ids = InputIds(event.input());
    std::string what = service_->what;
    switch (op) {
      case Op::kRead:
        if (service_ == &kDrive) {
          if (Flag("read_all") || ids.empty() || Listed("read_files", ids, created)) break;
          return Deny("Reading this file is not permitted (not in read_files).");
        }
        if (!Flag("allow_read")) return Deny("Reading " + what + " is not permitted.");
        break;
      case Op::kSend:
        if (!Flag("allow_send")) return Deny("Sending mail is not permitted (drafts only).");
        break;
      case Op::kDraftCreate:
        if (!Flag("allow_drafts")) return Deny("Creating drafts is not permitted.");
        break;
      case Op::kDraftWrite:
        if (!Flag("allow_drafts")) return Deny("Changing drafts is not permitted.");
        if (!Listed("", ids, created)) {
          return Deny("Only drafts created in this session may be changed.");
        }
        break;
      case Op::kModify:
        if (service_ == &kCalendar ? !Flag("allow_modify_events") : !Flag("allow_modify")) {
          return Deny("Changing " + what + " items is not permitted.");
        }
        break;
      case Op::kCreate:
        if (service_ == &kCalendar ? !Flag("allow_create_events") : !Flag("allow_create")) {
          return Deny("Creating " + what + " items is not permitted.");
        }
        break;
      case Op::kWrite:
        if (!Listed("write_files", ids, created)) {
          return Deny("Writes are limited to files created in this session or in write_files.");
        }
        break;
      case Op::kComment:
        if (!Listed("comment_files", ids, created)) {
          return Deny("Comments are limited to files created in this session or in comment_files.");
        }
        break;
    }
    return PolicyResult::Allow();
  }

  const Service* service_;
  Json params_;
  std::vector<std::string> prefixes_;
  std::map<std::string, Op, std::less<>> ops_;
};

PolicyType MakeType(const Service* s, std::string description, ParamSchema params) {
  PolicyType t;
  t.name = std::string(s->name) + "_policy";
  t.description = std::move(description);
  t.events = {EventType::kToolCall, EventType::kToolResult};
  Json prefixes = Json::array();
  for (const char* p : s->default_prefixes) prefixes.push_back(p);
  params.push_back({"tool_prefixes", ParamType::kStringList, prefixes, false,
                    "Prefixes stripped from tool names before matching."});
  params.push_back({"deny_reason", ParamType::kString,
                    std::string(s->what) + " operation blocked by policy.", false,
                    "Start of every deny reason."});
  t.params = std::move(params);
  t.create = [s](const Json& p,
                 std::vector<ParamError>* errors) -> Result<std::shared_ptr<const Policy>> {
    return MakePolicy<GooglePolicy>(p, errors, s);
  };
  return t;
}

}  // namespace

Status RegisterGooglePolicies(PolicyRegistry* registry) {
  REINS_RETURN_IF_ERROR(registry->Register(
      MakeType(&kGmail,
               "Gmail through MCP: reads and drafts allowed; send and modify denied by "
               "default; drafts may be changed only if created in this session.",
               {{"allow_read", ParamType::kBoolean, true, false, "Allow reading mail."},
                {"allow_send", ParamType::kBoolean, false, false, "Allow sending mail."},
                {"allow_drafts", ParamType::kBoolean, true, false, "Allow creating drafts."},
                {"allow_modify", ParamType::kBoolean, false, false,
                 "Allow changing labels, trashing and deleting mail."}}),
      {ReferenceHandler("google", "gmail_policy")}));
  REINS_RETURN_IF_ERROR(registry->Register(
      MakeType(&kDrive,
               "Google Drive, Docs, Sheets and Slides through MCP: writes only to files "
               "created in this session or listed.",
               {{"read_all", ParamType::kBoolean, true, false, "Allow reading any file."},
                {"read_files", ParamType::kStringList, Json::array(), false,
                 "Files readable when read_all is false (ids or URLs)."},
                {"allow_create", ParamType::kBoolean, false, false, "Allow creating files."},
                {"write_files", ParamType::kStringList, Json::array(), false,
                 "Existing files that may be written (ids or URLs)."},
                {"comment_files", ParamType::kStringList, Json::array(), false,
                 "Existing files that may be commented on."}}),
      {ReferenceHandler("google", "gdrive_policy")}));
  return registry->Register(
      MakeType(
          &kCalendar, "Google Calendar through MCP: read-only unless allowed.",
          {{"allow_read", ParamType::kBoolean, true, false, "Allow reading calendars."},
           {"allow_create_events", ParamType::kBoolean, false, false, "Allow creating events."},
           {"allow_modify_events", ParamType::kBoolean, false, false,
            "Allow changing and deleting events."}}),
      {ReferenceHandler("google", "gcalendar_policy")});
}

}  // namespace reins
