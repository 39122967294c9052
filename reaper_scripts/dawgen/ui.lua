-- dawgen Reaper scripts: dialogs, message boxes and the small progress window (gfx).
-- @noindex

local U = {}

U.TITLE = "dawgen"

function U.message(text)
  reaper.ShowMessageBox(text, U.TITLE, 0)
end

--- Yes / No / Cancel box: returns "yes", "no" or "cancel".
function U.ask(text)
  local r = reaper.ShowMessageBox(text, U.TITLE, 3)
  if r == 6 then return "yes" elseif r == 7 then return "no" end
  return "cancel"
end

--- A GetUserInputs dialog. fields = { {caption, value}, ... } (captions hold no commas).
--- Newline separates the values, so prompts may contain commas. Returns the values or nil.
function U.inputs(title, fields)
  local captions, values = {}, {}
  for i, f in ipairs(fields) do
    captions[i] = f[1]
    values[i] = tostring(f[2] or ""):gsub("\n", " ")
  end
  local ok, csv = reaper.GetUserInputs(title, #fields,
    table.concat(captions, ",") .. ",extrawidth=240,separator=\n", table.concat(values, "\n"))
  if not ok then return nil end
  local out = {}
  for v in (csv .. "\n"):gmatch("(.-)\n") do out[#out + 1] = v end
  for i = #out + 1, #fields do out[i] = "" end
  return out
end

--- The progress window: one line of text, a bar, and a hint; Esc or closing it asks to cancel.
local Progress = {}
Progress.__index = Progress

function U.progress(title)
  local self = setmetatable({ title = title, open = true, text = "starting", fraction = nil }, Progress)
  gfx.init(U.TITLE .. ": " .. title, 380, 96)
  gfx.setfont(1, "Arial", 15)
  return self
end

--- Draw; returns true when the user asked to cancel (Esc, or closed the window).
function Progress:update(text, fraction)
  if not self.open then return false end
  local ch = gfx.getchar()
  if ch < 0 or ch == 27 then
    self:close()
    return true
  end
  self.text, self.fraction = text or self.text, fraction
  gfx.set(0.12, 0.12, 0.12, 1)
  gfx.rect(0, 0, gfx.w, gfx.h, 1)
  gfx.set(0.9, 0.9, 0.9, 1)
  gfx.x, gfx.y = 12, 10
  gfx.drawstr(self.title .. ": " .. self.text)
  gfx.set(0.3, 0.3, 0.3, 1)
  gfx.rect(12, 40, gfx.w - 24, 14, 1)
  if fraction then
    gfx.set(0.35, 0.75, 0.45, 1)
    gfx.rect(12, 40, math.floor((gfx.w - 24) * math.max(0, math.min(1, fraction))), 14, 1)
  end
  gfx.set(0.6, 0.6, 0.6, 1)
  gfx.x, gfx.y = 12, 66
  gfx.drawstr("Esc or close this window to cancel")
  gfx.update()
  return false
end

function Progress:close()
  if self.open then
    self.open = false
    gfx.quit()
  end
end

--- Progress text from what `dawgen send` printed so far.
function U.describe(info, cancelling)
  if cancelling then return "cancelling", info.fraction end
  if info.step and info.steps and info.steps > 0 then -- a train job: its step and loss
    local text = string.format("step %d/%d, loss %s", info.step, info.steps,
      info.loss and string.format("%.4f", info.loss) or "?")
    return text, info.step / info.steps
  end
  if info.fraction then
    local text = string.format("%s %d%%", info.stage or "working", math.floor(info.fraction * 100 + 0.5))
    if info.eta and info.eta > 0 then text = text .. string.format(", ~%.0f s left", math.max(1, info.eta)) end
    return text, info.fraction
  end
  if info.position and info.position > 0 then return string.format("queued (position %d)", info.position), nil end
  if info.job_id then return "queued", nil end
  return "sending", nil
end

return U
