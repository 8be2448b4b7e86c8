-- confidential_then_no_web: once the agent has read something confidential,
-- it may not call a web tool for the rest of the session, so what it read
-- cannot leave through a URL or a search query.
--
-- A tool result is confidential when its event is labelled so (a harness or
-- a scanner sets labels.classification = "confidential", or
-- labels.confidential = true) or when its output contains one of `markers`
-- as a word, in any case (a "CONFIDENTIAL" banner in the file read).

-- RE2 source for "any of these words, in any case".
local function words_pattern(words)
  local escaped = {}
  for i, w in ipairs(words) do escaped[i] = w:gsub("%p", "\\%0") end
  return "(?i)\\b(" .. table.concat(escaped, "|") .. ")\\b"
end

-- Why this tool result is confidential, or nil.
local function confidential(event, markers)
  local labels = event.labels
  if labels and (labels.confidential == true or
      (type(labels.classification) == "string" and labels.classification:lower() == "confidential")) then
    return "labelled confidential"
  end
  local output = event.output
  if output == nil or #markers == 0 then return nil end
  if type(output) ~= "string" then output = reins.json.encode(output) end
  local word = reins.re2.match(words_pattern(markers), output)
  return word and ("marked \"" .. word .. "\"") or nil
end

return {
  name = "confidential_then_no_web",
  description = "After reading confidential content, no web tools for the rest of the session.",
  events = { "tool_call", "tool_result" },
  params = {
    web_tools = {
      type = "array", items = "string",
      default = { "WebFetch", "WebSearch", "web_search", "web_fetch" },
      description = "Tools that reach the web.",
    },
    markers = {
      type = "array", items = "string", default = { "confidential" },
      description = "Words that mark an output as confidential (whole words, any case).",
    },
  },
  evaluate = function(event, session, params)
    local tainted = session.state.tainted
    if event.type == "tool_result" then
      if tainted then return nil end  -- already remembered
      local why = confidential(event, params.markers)
      if not why then return nil end
      reins.log("confidential content read through " .. event.tool .. " (" .. why .. ")")
      return reins.allow():set("tainted", { tool = event.tool, seq = event.seq, why = why })
    end
    if not tainted then return nil end
    for _, tool in ipairs(params.web_tools) do
      if event.tool == tool then
        return reins.deny(string.format(
          "%s is blocked for the rest of this session: the agent read confidential content "
          .. "(%s, %s at seq %d).", tool, tainted.why, tainted.tool, tainted.seq))
      end
    end
    return nil
  end,
}
