-- cost_per_model_cap: a spend cap per model family in a session. `caps` maps
-- a case-insensitive substring of model names ("opus") to a cap: USD, or
-- {usd = ..., fallback = MODEL}. The session's spend on every model
-- containing the substring counts toward its cap. A model request at or
-- over its cap is rerouted to the cap's fallback (or `fallback_model`) when
-- there is one, by a modify of the request's `model`, else denied.
--
-- Spend per model comes from session.models (priced llm_response events and
-- cost events), so the cap sees what the budget sees.

-- The cap key a model falls under: the longest key it contains.
local function cap_key(model, caps)
  local best
  local lower = model:lower()
  for key in pairs(caps) do
    if lower:find(key:lower(), 1, true) and (not best or #key > #best) then best = key end
  end
  return best
end

return {
  name = "cost_per_model_cap",
  description = "Caps session spend per model family; over a cap, reroute or deny.",
  events = { "llm_request" },
  params = {
    caps = {
      type = "object", required = true,
      description = "Model-name substring -> USD cap, or {usd, fallback}, e.g. {opus: 5}.",
    },
    fallback_model = {
      type = "string",
      description = "Model to reroute capped requests to when their cap names none.",
    },
  },
  evaluate = function(event, session, params)
    local key = cap_key(event.model, params.caps)
    if not key then return nil end
    local cap, fallback = params.caps[key], params.fallback_model
    if type(cap) == "table" then cap, fallback = cap.usd, cap.fallback or fallback end
    if type(cap) ~= "number" then
      error("caps." .. key .. " must be a number or {usd = ..., fallback = ...}")
    end
    local spent = 0
    for model, totals in pairs(session.models) do
      if cap_key(model, params.caps) == key then spent = spent + totals.cost_usd end
    end
    if spent < cap then return nil end

    local why = string.format("%s models have spent $%.2f of their $%.2f cap in this session",
      key, spent, cap)
    if fallback and cap_key(fallback, params.caps) ~= key then
      return reins.modify({ model = fallback }, why .. "; rerouted to " .. fallback)
    end
    return reins.deny(why .. ".")
  end,
}
