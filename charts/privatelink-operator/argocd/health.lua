-- Argo CD health check for PrivateLinkService and PrivateLinkEndpoint
-- (privatelink.operator.dev/v1alpha1). Lua 5.1, as Argo CD runs it.
-- Follows kstatus: a status written for an older generation is Progressing (whatever its
-- conditions say); then Stalled=True is Degraded, Reconciling=True is Progressing, Ready=True
-- is Healthy, Ready=False is Degraded, and anything else (no verdict yet) is Progressing.
local hs = {}

local function find(conditions, wanted)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  local text = c.reason or ""
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  if text == "" then
    return fallback
  end
  return text
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

local conditions = obj.status.conditions
local observed = obj.status.observedGeneration
local ready = find(conditions, "Ready")
local reconciling = find(conditions, "Reconciling")
local stalled = find(conditions, "Stalled")

-- A condition written for an older generation says nothing about the current spec.
local function stale(c)
  return generation ~= nil and c ~= nil and c.observedGeneration ~= nil
    and c.observedGeneration < generation
end

if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

if stalled ~= nil and stalled.status == "True" and not stale(stalled) then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled: the spec must change")
  return hs
end

if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(reconciling, "Reconciling")
  return hs
end

if ready ~= nil and ready.status == "True" and not stale(ready) then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

if ready ~= nil and ready.status == "False" and not stale(ready) then
  hs.status = "Degraded"
  hs.message = describe(ready, "Not ready")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Ready condition")
return hs
