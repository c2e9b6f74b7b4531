// Camera-trap station LoRaWAN payload codec, wire version 1 (see docs/lora.md for the byte layout).
//
// One file for ChirpStack v4 and The Things Stack: plain ES5.1 (no let/const, arrow functions or
// template strings) and well under The Things Stack's 40 KB limit. It mirrors station/wire/lora_codec.py
// and station/wire/lora_json.py; tests/lora/test_codec_node.py runs both over the same vectors.
//
// Uplinks arrive on fPort 10, downlink commands go out on fPort 20.

var VERSION = 1;
var UPLINK_PORT = 10;
var DOWNLINK_PORT = 20;
var MAX_PAYLOAD = 255; // the longest LoRaWAN application payload is 242 bytes (SF7, 125 kHz)
var HEADER_SIZE = 7;
var DETECTION_SIZE = 4;
var STATUS_SIZE = 14;
var MAX_THRESHOLDS = 25;
var STORAGE_UNKNOWN = 255;
var TEMPERATURE_UNKNOWN = -128;

var TYPE_DETECTIONS = 1;
var TYPE_STATUS = 2;
var TYPE_REQUEST_STATUS = 8;
var TYPE_SET_CAPTURE_MODE = 9;
var TYPE_SET_THRESHOLDS = 10;

// Species code -> key, from station/vision/species.toml (a test checks they match).
var SPECIES = {
  0: "blank",
  1: "human",
  2: "amur_tiger",
  3: "amur_leopard",
  4: "snow_leopard",
  5: "eurasian_lynx",
  6: "wild_boar",
  7: "red_fox",
  8: "asian_badger",
  9: "brown_bear",
  10: "asiatic_black_bear",
  11: "sika_deer",
  12: "roe_deer",
  13: "red_deer",
  14: "manchurian_hare",
  15: "raccoon_dog",
  16: "leopard_cat",
  17: "domestic_dog",
  18: "cattle",
  19: "vehicle",
  254: "unknown_animal"
};

// The companion board's reset causes (docs/bridge-protocol.md section 7; firmware_bridge/fields.py ResetCause).
var RESET_CAUSES = ["unknown", "power_on", "watchdog", "hard", "soft", "deepsleep"];
var CAPTURE_MODES = ["paused", "normal", "walk_test"];

function has(object, key) {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function speciesKey(code) {
  return has(SPECIES, code) ? SPECIES[code] : null;
}

function speciesCode(key) {
  var code;
  for (code in SPECIES) {
    if (has(SPECIES, code) && SPECIES[code] === key) {
      return parseInt(code, 10);
    }
  }
  return -1;
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isInt(value, low, high) {
  return typeof value === "number" && isFinite(value) && Math.floor(value) === value &&
    value >= low && value <= high;
}

function u16(b, i) {
  return b[i] * 256 + b[i + 1];
}

function u32(b, i) {
  return b[i] * 16777216 + b[i + 1] * 65536 + b[i + 2] * 256 + b[i + 3];
}

function CodecError(message) {
  this.message = message;
}

function fail(message) {
  throw new CodecError(message);
}

function require_(ok, message) {
  if (!ok) {
    fail(message);
  }
}

function toBytes(input) {
  var bytes = input && input.bytes;
  var out = [];
  var i;
  if (!bytes || typeof bytes.length !== "number") {
    fail("no bytes");
  }
  require_(bytes.length <= MAX_PAYLOAD, bytes.length + " bytes: a LoRaWAN payload holds at most " + MAX_PAYLOAD);
  for (i = 0; i < bytes.length; i++) {
    // a value that is not a byte is a broken input, not something to mask into one
    require_(typeof bytes[i] === "number" && bytes[i] % 1 === 0 && bytes[i] >= 0 && bytes[i] <= 255,
             "byte " + i + " (" + String(bytes[i]) + ") is not 0-255");
    out.push(bytes[i]);
  }
  return out;
}

function decodeDetections(b, warnings) {
  var rest, sequence, baseTime, detections, i, at, species, confidence, count, offset;
  require_(b.length >= HEADER_SIZE, "truncated header: " + b.length + " bytes, need " + HEADER_SIZE);
  rest = b.length - HEADER_SIZE;
  require_(rest % DETECTION_SIZE === 0, "truncated detection: " + (rest % DETECTION_SIZE) + " trailing bytes");
  require_(rest > 0, "no detections");
  sequence = u16(b, 1);
  baseTime = u32(b, 3);
  detections = [];
  for (i = 0; i < rest / DETECTION_SIZE; i++) {
    at = HEADER_SIZE + DETECTION_SIZE * i;
    species = b[at];
    confidence = b[at + 1] >> 1;
    count = ((b[at + 1] & 1) << 3) | (b[at + 2] >> 5);
    offset = ((b[at + 2] & 0x1F) << 8) | b[at + 3];
    require_(confidence <= 100, "detection " + i + ": confidence " + confidence + " out of range 0-100");
    detections.push({
      species: speciesKey(species),
      species_code: species,
      confidence: confidence,
      count: count === 0 ? null : count,
      offset_s: offset,
      time: baseTime + offset
    });
  }
  for (i = 0; i < detections.length; i++) {
    if (detections[i].species === null) {
      warnings.push("detection " + i + ": unknown species code " + detections[i].species_code);
    }
  }
  return { version: VERSION, type: "detections", sequence: sequence, base_time: baseTime, detections: detections };
}

function decodeStatus(b, warnings) {
  var storage, temperature, cause;
  require_(b.length === STATUS_SIZE, "status frame must be " + STATUS_SIZE + " bytes, got " + b.length);
  storage = b[9];
  require_(storage <= 100 || storage === STORAGE_UNKNOWN, "storage " + storage + " out of range 0-100");
  temperature = b[10] > 127 ? b[10] - 256 : b[10];
  cause = b[13];
  if (cause >= RESET_CAUSES.length) {
    warnings.push("unknown reset cause " + cause);
  }
  return {
    version: VERSION,
    type: "status",
    sequence: u16(b, 1),
    time: u32(b, 3),
    battery_mv: u16(b, 7),
    storage_used_pct: storage === STORAGE_UNKNOWN ? null : storage,
    temperature_c: temperature === TEMPERATURE_UNKNOWN ? null : temperature,
    queue_depth: u16(b, 11),
    reset_cause: cause < RESET_CAUSES.length ? RESET_CAUSES[cause] : null,
    reset_cause_code: cause
  };
}

function decodeCommand(b, warnings) {
  var type = b[0] & 0x0F;
  var pairs = [];
  var i;
  if (type === TYPE_REQUEST_STATUS) {
    require_(b.length === 1, "request_status must be 1 byte, got " + b.length);
    return { command: "request_status" };
  }
  if (type === TYPE_SET_CAPTURE_MODE) {
    require_(b.length === 2, "set_capture_mode must be 2 bytes, got " + b.length);
    require_(b[1] < CAPTURE_MODES.length, "unknown capture mode " + b[1]);
    return { command: "set_capture_mode", mode: CAPTURE_MODES[b[1]] };
  }
  if (type === TYPE_SET_THRESHOLDS) {
    require_(b.length >= 3 && (b.length - 1) % 2 === 0, "set_thresholds needs pairs of bytes, got " + b.length + " bytes");
    require_(b.length <= 1 + 2 * MAX_THRESHOLDS, "set_thresholds carries at most " + MAX_THRESHOLDS + " pairs");
    for (i = 1; i < b.length; i += 2) {
      require_(b[i + 1] <= 100, "threshold " + ((i - 1) / 2) + ": percent " + b[i + 1] + " out of range 0-100");
      pairs.push({ species: speciesKey(b[i]), species_code: b[i], percent: b[i + 1] });
    }
    for (i = 0; i < pairs.length; i++) {
      if (pairs[i].species === null) {
        warnings.push("threshold " + i + ": unknown species code " + pairs[i].species_code);
      }
    }
    return { command: "set_thresholds", thresholds: pairs };
  }
  fail("unknown command type " + type);
}

function checkVersion(b) {
  require_(b.length > 0, "empty payload");
  require_((b[0] >> 4) === VERSION, "unsupported version " + (b[0] >> 4));
}

function checkPort(input, port, what) {
  var fPort = input === null || input === undefined ? undefined : input.fPort;
  require_(typeof fPort === "number" && fPort % 1 === 0, "fPort missing or not an integer");
  require_(fPort === port, "unexpected fPort " + fPort + ": trapd " + what + " use fPort " + port);
}

function run(decoder, input, port, what) {
  var warnings = [];
  var data;
  try {
    checkPort(input, port, what);
    data = decoder(toBytes(input), warnings);
  } catch (e) {
    if (e instanceof CodecError) {
      return { data: {}, warnings: [], errors: [e.message] };
    }
    return { data: {}, warnings: [], errors: ["internal error: " + String(e)] };
  }
  return { data: data, warnings: warnings, errors: [] };
}

function decodeUplink(input) {
  return run(function (b, warnings) {
    var type;
    checkVersion(b);
    type = b[0] & 0x0F;
    if (type === TYPE_DETECTIONS) {
      return decodeDetections(b, warnings);
    }
    if (type === TYPE_STATUS) {
      return decodeStatus(b, warnings);
    }
    fail("unknown frame type " + type);
  }, input, UPLINK_PORT, "uplinks");
}

function decodeDownlink(input) {
  return run(function (b, warnings) {
    checkVersion(b);
    return decodeCommand(b, warnings);
  }, input, DOWNLINK_PORT, "downlinks");
}

function thresholdPair(i, entry) {
  var code;
  if (!isObject(entry)) {
    fail("threshold " + i + ": must be an object");
  }
  if (has(entry, "species") && entry.species !== null && entry.species !== undefined) {
    code = typeof entry.species === "string" ? speciesCode(entry.species) : -1;
    require_(code >= 0, "threshold " + i + ": unknown species");
  } else if (isInt(entry.species_code, 0, 255)) {
    code = entry.species_code;
  } else {
    fail("threshold " + i + ": species_code must be an integer 0-255");
  }
  require_(isInt(entry.percent, 0, 100), "threshold " + i + ": percent must be an integer 0-100");
  return [code, entry.percent];
}

function commandBytes(data) {
  var head = (VERSION << 4);
  var entries, out, i, pair, mode;
  if (!isObject(data)) {
    fail("data must be an object");
  }
  if (data.command === "request_status") {
    return [head | TYPE_REQUEST_STATUS];
  }
  if (data.command === "set_capture_mode") {
    mode = typeof data.mode === "string" ? CAPTURE_MODES.indexOf(data.mode) : -1;
    require_(mode >= 0, "mode must be one of paused, normal, walk_test");
    return [head | TYPE_SET_CAPTURE_MODE, mode];
  }
  if (data.command === "set_thresholds") {
    entries = data.thresholds;
    require_(Array.isArray(entries) && entries.length >= 1 && entries.length <= MAX_THRESHOLDS,
      "thresholds must be a list of 1-" + MAX_THRESHOLDS + " entries");
    out = [head | TYPE_SET_THRESHOLDS];
    for (i = 0; i < entries.length; i++) {
      pair = thresholdPair(i, entries[i]);
      out.push(pair[0], pair[1]);
    }
    return out;
  }
  fail("command must be one of request_status, set_capture_mode, set_thresholds");
}

function encodeDownlink(input) {
  var bytes;
  try {
    bytes = commandBytes(input ? input.data : undefined);
  } catch (e) {
    if (e instanceof CodecError) {
      return { bytes: [], fPort: DOWNLINK_PORT, warnings: [], errors: [e.message] };
    }
    return { bytes: [], fPort: DOWNLINK_PORT, warnings: [], errors: ["internal error: " + String(e)] };
  }
  return { bytes: bytes, fPort: DOWNLINK_PORT, warnings: [], errors: [] };
}

if (typeof module !== "undefined") {
  module.exports = {
    decodeUplink: decodeUplink,
    decodeDownlink: decodeDownlink,
    encodeDownlink: encodeDownlink,
    SPECIES: SPECIES,
    UPLINK_PORT: UPLINK_PORT,
    DOWNLINK_PORT: DOWNLINK_PORT
  };
}
