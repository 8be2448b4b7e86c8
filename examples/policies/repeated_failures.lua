-- repeated_failures: the agent keeps running a command that keeps failing.
-- Before a shell command runs, look back through the session log: when the
-- same command already failed `max_failures` times within the last `window`
-- log records, ask a person before it runs again.
--
-- This policy keeps no state: the log is the memory. session.events returns
-- the recorded events (oldest first), here the tool calls and the tool
-- results of the same tool since a sequence number, matched by call_id.

local function command_line(input)
  local c = input.command or input.cmd
  if type(c) == "string" then return c end
  return nil
end

return {
  name = "repeated_failures",
  description = "Asks before re-running a command that failed repeatedly just now.",
  events = { "tool_call" },
  params = {
    max_failures = { type = "integer", default = 3, description = "Failures that make it ask." },
    window = { type = "integer", default = 200, description = "How many log records back to look." },
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

    local since = math.max(0, event.seq - params.window)
    local ids = {}
    for _, call in ipairs(session.events{type = "tool_call", tool = event.tool, since = since}) do
      if call.call_id and command_line(call.input) == line then ids[call.call_id] = true end
    end
    local failures = 0
    for _, result in ipairs(session.events{type = "tool_result", tool = event.tool, since = since}) do
      if result.is_error and ids[result.call_id] then failures = failures + 1 end
    end
    if failures >= params.max_failures then
      return reins.ask(string.format(
        "`%s` already failed %d times just now; run it again, or stop and rethink?",
        line, failures))
    end
    return nil
  end,
}
