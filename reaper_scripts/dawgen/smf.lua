-- dawgen Reaper scripts: Standard MIDI Files, as much as the harmony actions need.
--
-- write(notes, opts) makes a type-0 file of a MIDI item's notes (the input of harmonize, bassline,
-- improvise: an in-project MIDI item has no file, and a file item may play only part of its file).
-- read(bytes) gives each track's chunk, name and note count, and the chord symbols dawgen writes as
-- marker (else text) events at each chord's start. split(bytes, k) makes a file of the tempo track and
-- note track k: a trio's tracks become one item each, whatever REAPER's multi-track import settings.
-- @noindex

local F = {}
F.PPQ = 480

local function vlq(n)
  local out = { string.char(n & 0x7f) }
  n = n >> 7
  while n > 0 do
    table.insert(out, 1, string.char((n & 0x7f) | 0x80))
    n = n >> 7
  end
  return table.concat(out)
end

local function chunk(tag, body) return tag .. string.pack(">I4", #body) .. body end

local function meta(kind, text) return "\xff" .. string.char(kind) .. vlq(#text) .. text end

--- notes: { {pitch, start, length (quarter notes), velocity} }; opts: { name, bpm, num, denom,
--- length (quarter notes: where the track ends) }. Returns the file's bytes.
function F.write(notes, opts)
  local events = {}
  for _, n in ipairs(notes) do
    local on = math.max(0, math.floor(n.start * F.PPQ + 0.5))
    local off = math.max(on + 1, math.floor((n.start + n.length) * F.PPQ + 0.5))
    local pitch, vel = math.max(0, math.min(127, n.pitch)), math.max(1, math.min(127, n.velocity))
    events[#events + 1] = { tick = on, order = 1, bytes = string.char(0x90, pitch, vel) }
    events[#events + 1] = { tick = off, order = 0, bytes = string.char(0x80, pitch, 0) } -- offs first at a tick
  end
  table.sort(events, function(a, b)
    if a.tick ~= b.tick then return a.tick < b.tick end
    return a.order < b.order
  end)
  local micros = math.floor(60000000 / opts.bpm + 0.5)
  local parts = { "\0" .. meta(3, opts.name or "clip"), "\0" .. meta(0x51, string.pack(">I3", micros)),
                  "\0" .. meta(0x58, string.char(opts.num, math.floor(math.log(opts.denom, 2) + 0.5), 24, 8)) }
  local tick = 0
  for _, e in ipairs(events) do
    parts[#parts + 1] = vlq(e.tick - tick) .. e.bytes
    tick = e.tick
  end
  local stop = math.max(tick, math.floor(opts.length * F.PPQ + 0.5))
  parts[#parts + 1] = vlq(stop - tick) .. "\xff\x2f\0"
  return chunk("MThd", string.pack(">I2I2I2", 0, 1, F.PPQ)) .. chunk("MTrk", table.concat(parts))
end

-- One track's events: name, notes (how many note-ons), metas { {kind, text, tick} }.
local function scan(body)
  local pos, tick, status = 1, 0, 0
  local info = { name = "", notes = 0, metas = {}, ons = {} }
  local function varlen()
    local v = 0
    repeat
      local b = body:byte(pos)
      if not b then error("the MIDI file ends in the middle of a track") end
      pos = pos + 1
      v = (v << 7) | (b & 0x7f)
    until b < 0x80
    return v
  end
  while pos <= #body do
    tick = tick + varlen()
    local b = body:byte(pos)
    if b == 0xff then
      local kind = body:byte(pos + 1)
      pos = pos + 2
      local len = varlen()
      local text = body:sub(pos, pos + len - 1)
      pos = pos + len
      if kind == 0x2f then break end
      if kind == 3 and info.name == "" then info.name = text end
      if kind == 1 or kind == 6 then info.metas[#info.metas + 1] = { kind = kind, text = text, tick = tick } end
    elseif b == 0xf0 or b == 0xf7 then
      pos = pos + 1
      pos = pos + varlen()
    else
      if b >= 0x80 then status, pos = b, pos + 1 end
      local kind = status & 0xf0
      local size = (kind == 0xc0 or kind == 0xd0) and 1 or 2
      if kind == 0x90 and (body:byte(pos + 1) or 0) > 0 then
        info.notes = info.notes + 1
        info.ons[info.notes] = { tick = tick, pitch = body:byte(pos), velocity = body:byte(pos + 1) }
      end
      pos = pos + size
    end
  end
  return info
end

-- Symbols at their beats: markers when there are any, else text events; once per beat and symbol.
local function chords(tracks, division)
  local want = 1
  for _, t in ipairs(tracks) do for _, m in ipairs(t.metas) do if m.kind == 6 then want = 6 end end end
  local out, seen = {}, {}
  for _, t in ipairs(tracks) do
    for _, m in ipairs(t.metas) do
      local symbol = m.text:match("^%s*(.-)%s*$")
      local key = m.tick .. " " .. symbol
      if m.kind == want and symbol ~= "" and not seen[key] then
        seen[key] = true
        out[#out + 1] = { beat = m.tick / division, symbol = symbol }
      end
    end
  end
  table.sort(out, function(a, b) return a.beat < b.beat end)
  return out
end

--- bytes -> { format, division, tracks = { {chunk, name, notes (a count), ons = { {tick, pitch, velocity} }} },
---            chords = { {beat, symbol} } },
--- or nil and why.
function F.read(bytes)
  if bytes:sub(1, 4) ~= "MThd" or #bytes < 14 then return nil, "not a MIDI file (no MThd header)" end
  local size = string.unpack(">I4", bytes, 5)
  local format, count, division = string.unpack(">I2I2I2", bytes, 9)
  if division >= 0x8000 or division == 0 then return nil, "the MIDI file's timing is not in quarter notes" end
  local out, pos = { format = format, division = division, tracks = {} }, 9 + size
  while pos + 7 <= #bytes and #out.tracks < count do
    local tag, len = bytes:sub(pos, pos + 3), string.unpack(">I4", bytes, pos + 4)
    local whole = bytes:sub(pos, pos + 7 + len)
    if tag == "MTrk" then
      local ok, info = pcall(scan, whole:sub(9))
      if not ok then return nil, info end
      info.chunk = whole
      out.tracks[#out.tracks + 1] = info
    end
    pos = pos + 8 + len
  end
  out.chords = chords(out.tracks, division)
  return out
end

--- A type-1 file of track 1 (tempo and meter) and track `k` of a parsed type-1 file.
function F.split(parsed, k)
  local header = chunk("MThd", string.pack(">I2I2I2", 1, 2, parsed.division))
  return header .. parsed.tracks[1].chunk .. parsed.tracks[k].chunk
end

return F
