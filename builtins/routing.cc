// deny_trivial_to_expensive_model: trivial prompts do not need an expensive
// model (docs/policies.md#deny_trivial_to_expensive_model).
//
// On a request or llm_request bound for an expensive model, a local
// classifier labels the prompt trivial or complex from cheap features:
// length, code blocks, stack traces, multi-step or design wording, and how
// many files it names. Trivial prompts are rerouted (modify {"model":
// cheap_model}) or denied with the cheaper model named. The label is cached
// per prompt hash in the policy's state, so the log records it and the same
// prompt is not classified twice. With `classifier: llm` the label a model
// gave (the event's prompt_class, filled by the LLM proxy) wins; without one
// the heuristic decides and the state and reason say why.
#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "builtins/builtin_util.h"
#include "builtins/builtins.h"
#include "engine/session_view.h"

namespace reins {

namespace {

const char* const kDefaultComplexWords[] = {
    "design",       "architect",   "architecture", "refactor", "implement", "migrate",
    "debug",        "investigate", "optimize",     "optimise", "plan",      "rewrite",
    "step by step", "root cause",  "benchmark",    "analyze",  "analyse",   "integrate",
    "port",         "review",      "prove"};

class TrivialRouting : public Policy {
 public:
  TrivialRouting(const Json& params, std::vector<ParamError>* errors)
      : cheap_(params.at("cheap_model").get<std::string>()),
        action_(params.at("action").get<std::string>()),
        max_chars_(params.at("max_trivial_chars").get<int64_t>()),
        max_files_(params.at("max_trivial_files").get<int64_t>()),
        words_(StringList(params, "complex_keywords")),
        use_llm_(params.at("classifier").get<std::string>() == "llm") {
    for (const std::string& m : StringList(params, "expensive_models")) {
      expensive_.push_back(Lower(m));
    }
    if (expensive_.empty()) errors->push_back({"expensive_models", "name at least one model"});
    if (cheap_.empty()) errors->push_back({"cheap_model", "cheap_model must not be empty"});
    for (std::string& w : words_) w = Lower(w);
  }

  EvalResult Evaluate(const Event& event, const SessionView& session) const override {
    std::string model(session.model());
    std::string lower = Lower(model);
    bool expensive = std::any_of(expensive_.begin(), expensive_.end(), [&](const std::string& e) {
      return lower.find(e) != std::string::npos;
    });
    std::string text(event.text());
    if (!expensive || model == cheap_ || text.empty()) return std::optional<PolicyResult>();

    std::string key = "_routing_classification:" + Sha256Hex(text).substr(0, 16);
    std::optional<StateUpdate> remember;
    std::string label, why;
    // The LLM's label comes on the event (the proxy asked before recording
    // it), so replaying the log decides the same way.
    const Json* said = use_llm_ ? event.Get("prompt_class") : nullptr;
    std::string llm_label = said && said->is_object() ? said->value("label", "") : "";
    const Json* cached = session.Get(key);
    if (llm_label == "trivial" || llm_label == "complex") {
      label = llm_label;
      why = "the LLM classifier " + said->value("model", "") + " says " + label;
      if (!cached || !cached->is_object() || cached->value("label", "") != label ||
          cached->value("classifier", "") != "llm") {
        remember = StateUpdate::Set(key, {{"label", label}, {"why", why}, {"classifier", "llm"}});
      }
    } else if (cached && cached->is_object()) {
      label = cached->value("label", "");
      why = cached->value("why", "");
    } else {
      std::vector<std::string> reasons = Classify(text);
      label = reasons.empty() ? "trivial" : "complex";
      for (const std::string& r : reasons) why += (why.empty() ? "" : ", ") + r;
      if (why.empty()) why = "short, no code, no multi-step wording";
      Json note = {{"label", label}, {"why", why}, {"classifier", "heuristic"}};
      if (use_llm_) {
        // Said in the state and the reason: the LLM was wanted but not heard.
        std::string fallback =
            said && said->is_object() && said->contains("error")
                ? "the LLM classifier failed: " + said->value("error", "")
                : "no LLM label on the event (the LLM proxy adds one when an llm: section is "
                  "configured)";
        note["fallback"] = fallback;
        why = "heuristic, as " + fallback + ": " + why;
      }
      remember = StateUpdate::Set(key, std::move(note));
    }
    PolicyResult r;
    if (label != "trivial") {
      r = PolicyResult::Allow();
    } else if (action_ == "deny") {
      r = PolicyResult::Deny("This prompt looks trivial (" + why +
                             "); use a cheaper model such as " + cheap_ + " instead of " + model +
                             ".");
    } else {
      r = PolicyResult::Modify({{"model", cheap_}}, "trivial prompt (" + why + "): rerouted from " +
                                                        model + " to " + cheap_);
    }
    if (remember) r.updates.push_back(std::move(*remember));
    if (r.updates.empty() && r.verdict == Verdict::kAllow) return std::optional<PolicyResult>();
    return r;
  }

 private:
  // The features that make a prompt complex; none means trivial.
  std::vector<std::string> Classify(const std::string& text) const {
    std::vector<std::string> out;
    if (static_cast<int64_t>(text.size()) > max_chars_) out.push_back("long");
    if (text.find("```") != std::string::npos) out.push_back("code block");
    static const RE2 kTrace(
        R"((?i)traceback \(most recent call last\)|\n\s+at \S+\(|panicked at|exception in thread|^\s*File ".+", line \d+)");
    if (RE2::PartialMatch(text, kTrace)) out.push_back("stack trace");
    static const RE2 kSteps(R"((?m)^\s*(?:\d+[.)]|[-*])\s+\S)");
    re2::StringPiece in(text);
    int steps = 0;
    while (RE2::FindAndConsume(&in, kSteps) && steps < 3) ++steps;
    if (steps >= 2) out.push_back("multi-step list");
    std::string lower = Lower(text);
    for (const std::string& w : words_) {
      size_t pos = lower.find(w);
      bool start_ok = pos != std::string::npos &&
                      (pos == 0 || !std::isalnum(static_cast<unsigned char>(lower[pos - 1])));
      if (start_ok) {
        out.push_back("'" + w + "'");
        break;
      }
    }
    static const RE2 kFile(
        R"(((?:[\w.-]+/)*[\w-]+\.(?:py|js|ts|tsx|jsx|go|rs|java|kt|c|cc|cpp|h|hpp|rb|php|cs|swift|)"
        R"(scala|sql|md|yaml|yml|json|toml|sh|html|css))\b)");
    std::set<std::string> files;
    re2::StringPiece rest(text);
    std::string file;
    while (files.size() <= static_cast<size_t>(max_files_) &&
           RE2::FindAndConsume(&rest, kFile, &file)) {
      files.insert(file);
    }
    if (static_cast<int64_t>(files.size()) > max_files_) out.push_back("names several files");
    return out;
  }

  std::vector<std::string> expensive_;
  std::string cheap_, action_;
  int64_t max_chars_, max_files_;
  std::vector<std::string> words_;
  bool use_llm_;
};

}  // namespace

Status RegisterRoutingPolicies(PolicyRegistry* registry) {
  PolicyType t;
  t.name = "deny_trivial_to_expensive_model";
  t.description =
      "Reroutes (or denies) trivial prompts sent to an expensive model, using a local classifier "
      "whose verdict is cached per prompt.";
  t.events = {EventType::kRequest, EventType::kLlmRequest};
  Json words = Json::array();
  for (const char* w : kDefaultComplexWords) words.push_back(w);
  t.params = {
      {"expensive_models", ParamType::kStringList, nullptr, true,
       "Case-insensitive substrings naming the expensive models."},
      {"cheap_model", ParamType::kString, nullptr, true, "The model trivial prompts go to."},
      {"action",
       ParamType::kString,
       "reroute",
       false,
       "reroute (modify the model) or deny.",
       {"reroute", "deny"}},
      {"max_trivial_chars", ParamType::kInteger, 200, false, "Longer prompts are complex."},
      {"max_trivial_files", ParamType::kInteger, 1, false,
       "Prompts naming more files than this are complex."},
      {"complex_keywords", ParamType::kStringList, words, false,
       "Words that mark multi-step or design work."},
      {"classifier",
       ParamType::kString,
       "heuristic",
       false,
       "heuristic (local features), or llm: the label the LLM proxy put on the event "
       "(prompt_class), with the heuristic when there is none.",
       {"heuristic", "llm"}},
  };
  t.create = FactoryOf<TrivialRouting>();
  return registry->Register(std::move(t),
                            {ReferenceHandler("routing", "deny_trivial_to_expensive_model")});
}

}  // namespace reins
