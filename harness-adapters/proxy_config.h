// The `proxy:` and `llm:` sections of a server configuration file:
//
//   proxy:                          # `reins serve` runs the LLM proxy too
//     listen: 127.0.0.1:8788        # host:port (port 0 picks one)
//     upstreams:                    # provider base URLs (these are the defaults)
//       anthropic: https://api.anthropic.com
//       openai: https://api.openai.com
//       gemini: https://generativelanguage.googleapis.com
//     ca_file: certs/gateway.pem    # PEM certificates trusted besides the system's
//     ask_wait: 5m                  # how long an ask holds a model call
//     user: alice                   # the user of the sessions the proxy starts
//     threads: 1                    # I/O threads (one is fastest; answers are recorded on 8
//     workers) max_body_bytes: 33554432      # larger requests get 413 upstream_timeout: 10m # for
//     a whole answer record_tool_calls: true       # tool calls in answers become observed
//     tool_call events
//
//   llm:                            # the model behind `classifier: llm`
//     base_url: https://api.anthropic.com
//     api: anthropic                # or openai (Chat Completions)
//     model: claude-haiku-4-5
//     api_key_env: ANTHROPIC_API_KEY
//     timeout: 5s
//     cache_entries: 10000
//     retry_after: 30s
//
// Both sections are optional. `reins proxy` takes its defaults from them
// (its flags win); `reins serve` starts the proxy only when `proxy:` is there.
#pragma once

#include <optional>
#include <string>

#include "engine/config.h"
#include "harness-adapters/llm_proxy.h"

namespace reins {

// Makes `loader` accept the two sections.
void RegisterProxySections(ConfigLoader* loader);

// The `proxy:` section of a loaded configuration, with `llm:` as its
// classifier; nullopt when the file has no `proxy:` section.
std::optional<ProxyOptions> ProxySectionOf(const ServerConfig& config);

// The options `reins proxy` starts from: the section's, else the defaults
// (DefaultUpstreams), with the `llm:` classifier either way.
ProxyOptions ProxyOptionsOf(const ServerConfig& config);

// A warning for a configuration whose policies use `classifier: llm`
// while it has no `llm:` section (they then fall back to the heuristic on
// every prompt); "" when there is nothing to say.
std::string ClassifierWarning(const ServerConfig& config);

}  // namespace reins
