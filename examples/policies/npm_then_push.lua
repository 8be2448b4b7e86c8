-- npm_then_push, in Lua: after the agent installs a new package, its next
-- `git push` waits for a person. A new dependency is how a compromised
-- package reaches a repository; a look before it is pushed is cheap.
--
-- The same rule, parameters and answers as the builtin npm_then_push
-- (docs/policies.md), written against the script API (docs/lua.md):
--   - A shell command matching one of `installers` arms the rule. "<pkg>" at
--     the end of a pattern needs a word naming something new: not an option,
--     not an option's value (-r FILE, --registry URL, ...), not a local path
--     (., ./x, /x, ~/x). So a bare `npm install` or `npm ci`, which only
--     restores the lockfile, does not count.
--   - While armed, a command matching one of `gated` asks (or, with
--     action: deny, is denied). The ask carries the update that disarms the
--     rule, so approving it lets pushes through until the next install,
--     and denying it keeps the rule armed.
--   - Commands the shell analyzer cannot resolve count when they might match
--     (fail closed). Within one tool call commands are taken in order:
--     `npm i x && git push` asks.

-- Tools whose input is a shell command, as the builtins know them.
local SHELL_TOOLS = {
  "Bash", "Shell", "PowerShell", "Monitor", "run_shell_command", "sys_os_shell", "shell",
  "shell_command", "exec_command", "local_shell", "container.exec", "bash", "terminal",
  "developer__shell", "sys_terminal_send",
}

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- Installer options whose next word is a value, not a package.
local VALUE_OPTIONS = set {
  "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
  "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root",
  "--registry", "--cache", "-C", "--cwd", "--dir", "--filter", "-w", "--workspace",
  "--manifest-path", "-p", "--package", "--path", "--git", "--branch", "--rev", "--tag",
  "--features", "-F", "--python", "--only-binary", "--no-binary", "--platform", "--src",
  "--trusted-host", "--proxy", "--index", "--default-index", "--group",
}

-- git's global options before the subcommand.
local GIT_FLAGS = set {
  "-p", "-P", "--paginate", "--no-pager", "--bare", "--no-replace-objects", "--no-lazy-fetch",
  "--literal-pathspecs", "--glob-pathspecs", "--noglob-pathspecs", "--icase-pathspecs",
  "--no-optional-locks", "--no-advice",
}
local GIT_VALUE = set {
  "-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env",
}
local GIT_INLINE = {
  "--git-dir=", "--work-tree=", "--namespace=", "--super-prefix=", "--config-env=",
  "--exec-path=", "--list-cmds=",
}

-- "npm install|i|add <pkg>" -> {programs, words = {set, ...}, needs_package}
local function parse_pattern(text)
  local words = {}
  for w in text:gmatch("%S+") do words[#words + 1] = w end
  if #words == 0 then error("empty command pattern") end
  local function alternatives(word)
    local out = {}
    for a in (word .. "|"):gmatch("([^|]*)|") do out[#out + 1] = a end
    return out
  end
  local p = { text = text, programs = alternatives(words[1]), words = {}, needs_package = false }
  for i = 2, #words do
    if words[i] == "<pkg>" or words[i] == "<arg>" then
      if i ~= #words then error("'" .. text .. "': " .. words[i] .. " must come last") end
      p.needs_package = true
    else
      p.words[#p.words + 1] = set(alternatives(words[i]))
    end
  end
  return p
end

-- Index of the first word after the program `name` (and git's global
-- options), or nil when cmd does not run it or a dynamic word is in the way.
local function invocation_end(cmd, name)
  if cmd.name ~= name or #cmd.argv == 0 then return nil end
  local k = 2
  if name == "git" then
    while k <= #cmd.argv do
      if cmd.dynamic[k] then return nil end
      local a = cmd.argv[k]
      if a == "" or a:sub(1, 1) ~= "-" then break end
      if GIT_FLAGS[a] then
        k = k + 1
      elseif GIT_VALUE[a] then
        k = k + 2
      else
        local known = false
        for _, prefix in ipairs(GIT_INLINE) do known = known or a:sub(1, #prefix) == prefix end
        if not known then return nil end
        k = k + 1
      end
    end
  end
  return k
end

local function names_package(cmd, k)
  local options_done = false
  while k <= #cmd.argv do
    if cmd.dynamic[k] then return true end  -- it could be one
    local w = cmd.argv[k]
    local first = w:sub(1, 1)
    if not options_done and w == "--" then
      options_done = true
    elseif not options_done and first == "-" then
      if not w:find("=", 1, true) and VALUE_OPTIONS[w] then k = k + 1 end
    elseif w ~= "" and first ~= "." and first ~= "/" and first ~= "~" then
      return true
    end
    k = k + 1
  end
  return false
end

local function matches(p, cmd)
  for _, program in ipairs(p.programs) do
    local k = invocation_end(cmd, program)
    if k then
      local ok = true
      for _, alternatives in ipairs(p.words) do
        if k > #cmd.argv or cmd.dynamic[k] or not alternatives[cmd.argv[k]] then
          ok = false
          break
        end
        k = k + 1
      end
      if ok and (not p.needs_package or names_package(cmd, k)) then return true end
    end
  end
  return false
end

-- Matches, or might once run: unresolved, or a dynamic word where the
-- pattern expects one of its words.
local function might_match(p, cmd)
  if matches(p, cmd) then return true end
  local program_unknown = #cmd.argv == 0 or cmd.dynamic[1]
  local program_matches = false
  for _, program in ipairs(p.programs) do program_matches = program_matches or program == cmd.name end
  if not cmd.resolved and (program_unknown or program_matches) then return true end
  if not program_matches then return false end
  local k = invocation_end(cmd, cmd.name)
  if not k then return false end
  for _, alternatives in ipairs(p.words) do
    if k > #cmd.argv then return false end
    if cmd.dynamic[k] then return true end
    if not alternatives[cmd.argv[k]] then return false end
    k = k + 1
  end
  return false
end

-- A shell word quoted only when it needs it (to rebuild Codex's argv lists).
local function quote(word)
  if word ~= "" and not word:find("[^%w%-_./=:,+%%@]") then return word end
  return "'" .. word:gsub("'", "'\\''") .. "'"
end

-- The command line of a shell tool's input: the first of command, cmd and
-- text that is present, a string or an argv list.
local function command_line(input)
  for _, field in ipairs({ "command", "cmd", "text" }) do
    local v = input[field]
    if v ~= nil then
      if type(v) == "string" then return v end
      if type(v) ~= "table" then return nil end
      local words = {}
      for _, w in ipairs(v) do
        if type(w) == "string" then words[#words + 1] = quote(w) end
      end
      return table.concat(words, " ")
    end
  end
  return nil
end

-- What the reason shows of a command: its words, up to about 120 bytes.
local function show(cmd)
  local out = ""
  for i, w in ipairs(cmd.argv) do
    if #out >= 120 then break end
    out = out .. (i > 1 and " " or "") .. w
  end
  return out
end

local ARMED = "_policy_armed_by"

return {
  name = "npm_then_push",
  description = "After the agent installs a new package, the next git push asks; approved, "
    .. "pushes pass until the next install.",
  events = { "tool_call" },
  params = {
    installers = {
      type = "array", items = "string",
      default = {
        "npm install|i|add|isntall|in <pkg>", "yarn add <pkg>", "yarn global add <pkg>",
        "pnpm add|install|i <pkg>", "bun add|install|i <pkg>", "pip|pip3 install <pkg>",
        "python|python3 -m pip install <pkg>", "uv pip install <pkg>", "uv add <pkg>",
        "poetry add <pkg>", "cargo add|install <pkg>", "go get|install <pkg>",
        "gem install <pkg>",
      },
      description = "Command patterns that install a new package.",
    },
    gated = {
      type = "array", items = "string", default = { "git push" },
      description = "Command patterns that need approval after an install.",
    },
    action = { type = "string", choices = { "ask", "deny" }, default = "ask", description = "ask or deny." },
    shell_tools = {
      type = "array", items = "string", default = {},
      description = "Extra tool names to treat as shell tools.",
    },
  },
  evaluate = function(event, session, params)
    local shell = false
    for _, t in ipairs(SHELL_TOOLS) do shell = shell or t == event.tool end
    for _, t in ipairs(params.shell_tools) do shell = shell or t == event.tool end
    local input = event.input
    local line = shell and type(input) == "table" and command_line(input)
    if not line then return nil end

    local installers, gated = {}, {}
    for i, text in ipairs(params.installers) do installers[i] = parse_pattern(text) end
    for i, text in ipairs(params.gated) do gated[i] = parse_pattern(text) end

    local armed_by = session.state[ARMED]
    if type(armed_by) ~= "string" then armed_by = "" end
    local first_trigger
    for _, cmd in ipairs(reins.shell.parse(line).commands) do
      for _, g in ipairs(gated) do
        if armed_by ~= "" and might_match(g, cmd) then
          local what = matches(g, cmd) and g.text
            or (g.text .. " (possibly: " .. cmd.unresolved_reason .. ")")
          local reason = "'" .. what .. "' needs approval: '" .. armed_by
            .. "' ran since the last approval."
          if params.action == "deny" then return reins.deny(reason) end
          return reins.ask(reason):delete(ARMED)
        end
      end
      for _, t in ipairs(installers) do
        if might_match(t, cmd) then
          armed_by = show(cmd)
          first_trigger = first_trigger or armed_by
          break
        end
      end
    end
    if not first_trigger then return nil end
    return reins.allow():set(ARMED, armed_by)
  end,
}
