-- The fake REAPER's media side (see fake_reaper.lua): source facts, take audio accessors, the
-- reaper.array buffers they fill, and folder listing. A take's audio is a function of time so the
-- specs can check exactly which samples were read: source.signal(t_in_source, channel), default a
-- ramp that encodes the source time.

return function(Fake)
  local function expect(obj, kind, fn)
    if type(obj) ~= "table" or obj.kind ~= kind then
      error(string.format("fake reaper: %s expects a %s, got %s", fn, kind, tostring(obj)), 3)
    end
  end

  -- reaper.new_array(size): values indexed 1..size; .table(offset, size) and .clear() are called
  -- with a dot (they are bound to the array), as in REAPER.
  local function new_array(size)
    assert(math.type(size) == "integer" and size > 0, "new_array(size)")
    local a = { kind = "array", size = size, v = {} }
    function a.table(offset, n)
      assert(math.type(offset) == "integer" and math.type(n) == "integer", "array.table(offset, size): 1-based offset")
      assert(offset >= 1 and offset + n - 1 <= size, "array.table: out of range")
      local t = {}
      for i = 1, n do t[i] = a.v[offset + i - 1] or 0 end
      return t
    end
    function a.clear(value)
      a.v = {}
      if value then for i = 1, size do a.v[i] = value end end
    end
    return a
  end

  -- What a take plays at item time t (seconds from the item's start): its source at
  -- D_STARTOFFS + t * D_PLAYRATE.
  local function take_value(take, t, ch)
    local s = take.startoffs + t * take.playrate
    if take.source.signal then return take.source.signal(s, ch) end
    return ((s * 1000) % 1000) / 1000 * (ch == 0 and 1 or -1) * 0.5
  end

  function Fake:api_media(R)
    local f = self
    function R.new_array(size) return new_array(size) end
    function R.GetMediaSourceSampleRate(src)
      expect(src, "source", "GetMediaSourceSampleRate")
      return src.type == "MIDI" and 0 or src.srate or 48000
    end
    function R.GetMediaSourceNumChannels(src) expect(src, "source", "GetMediaSourceNumChannels") return src.channels or 2 end
    -- Take accessors read item time: 0 = the item's start, to the item's length.
    function R.CreateTakeAudioAccessor(take)
      expect(take, "take", "CreateTakeAudioAccessor")
      local item
      for _, it in ipairs(f:all_items()) do if it.take == take then item = it end end
      local acc = { kind = "accessor", take = take, item = item, open = true }
      f.accessors = f.accessors or {}
      f.accessors[#f.accessors + 1] = acc
      return acc
    end
    function R.DestroyAudioAccessor(acc) expect(acc, "accessor", "DestroyAudioAccessor"); acc.open = false end
    function R.GetAudioAccessorStartTime(acc) expect(acc, "accessor", "GetAudioAccessorStartTime") return 0 end
    function R.GetAudioAccessorEndTime(acc) expect(acc, "accessor", "GetAudioAccessorEndTime") return acc.item.length end
    function R.GetAudioAccessorSamples(acc, srate, nch, t0, n, buf)
      expect(acc, "accessor", "GetAudioAccessorSamples")
      assert(acc.open, "GetAudioAccessorSamples on a destroyed accessor")
      assert(math.type(srate) == "integer" and math.type(nch) == "integer" and type(t0) == "number"
        and math.type(n) == "integer", "GetAudioAccessorSamples(acc, int srate, int nch, time, int n, array)")
      expect(buf, "array", "GetAudioAccessorSamples")
      assert(n * nch <= buf.size, "GetAudioAccessorSamples: the buffer holds " .. buf.size .. " values, not " .. n * nch)
      for i = 0, n - 1 do
        local t = t0 + i / srate
        for ch = 0, nch - 1 do
          buf.v[i * nch + ch + 1] = (t < acc.item.length) and take_value(acc.take, t, ch) or 0
        end
      end
      return 1
    end
    function R.EnumerateSubdirectories(path, idx)
      assert(type(path) == "string" and math.type(idx) == "integer", "EnumerateSubdirectories(path, int)")
      local names = {}
      local p = io.popen("find '" .. path:gsub("'", "'\\''") .. "' -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort")
      for line in p:lines() do names[#names + 1] = line:match("([^/]+)$") end
      p:close()
      return names[idx + 1]
    end
  end
end
