-- deploys_per_day: no more than `limit` deploys a day per user, counted
-- across all of the user's sessions (user-scoped state), by UTC day of the
-- event. A deploy is a shell command in which one of `patterns` (RE2)
-- matches; the one over the limit is denied until the next day.
--
-- The count is an `increment` of a per-day key, so deploys from two
-- sessions at once are both counted (the engine applies updates in order).
-- It counts attempts that this policy allows, even if the command then
-- fails.

local function command_line(input)
  local c = input.command or input.cmd
  if type(c) == "string" then return c end
  if type(c) == "table" then
    local words = {}
    for i, w in ipairs(c) do words[i] = tostring(w) end
    return table.concat(words, " ")
  end
  return nil
end

return {
  name = "deploys_per_day",
  description = "At most `limit` deploys per user per UTC day.",
  events = { "tool_call" },
  params = {
    limit = { type = "integer", default = 3, description = "Deploys allowed per day." },
    patterns = {
      type = "array", items = "string",
      default = {
        "\\bkubectl\\s+(apply|rollout\\s+restart)\\b",
        "\\bhelm\\s+(install|upgrade)\\b",
        "\\b(fly|vercel|netlify|firebase)\\s+deploy\\b",
        "\\bmake\\s+deploy\\b",
      },
      description = "RE2 patterns; a shell command matching any of them is a deploy.",
    },
    shell_tools = {
      type = "array", items = "string",
      default = { "Bash", "exec_command", "shell", "local_shell", "run_shell_command" },
      description = "Tools whose input is a shell command.",
    },
  },
  evaluate = function(event, session, params)
    local shell = false
    for _, t in ipairs(params.shell_tools) do shell = shell or t == event.tool end
    local line = shell and command_line(event.input)
    if not line then return nil end
    local deploy = false
    for _, p in ipairs(params.patterns) do deploy = deploy or reins.re2.match(p, line) ~= nil end
    if not deploy then return nil end

    local key = "deploys:" .. session.today
    local done = session.user_value(key) or 0
    if done >= params.limit then
      return reins.deny(string.format(
        "Deploy limit reached: %s has deployed %d times today (%s UTC, limit %d). "
        .. "Tell the user; the next deploy is allowed tomorrow.", session.user, done,
        session.today, params.limit))
    end
    return reins.allow():increment(key, 1, { scope = "user" })
  end,
}
