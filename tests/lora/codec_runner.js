// Runs deploy/lorawan/codec.js over a whole batch of vectors in one Node process.
// usage: node --expose-internals codec_runner.js <codec.js> <vectors.json>  -> results JSON on stdout
// (--expose-internals only lends us Node's bundled acorn parser, to check the codec is ES5.1.)
"use strict";

const fs = require("fs");
const path = require("path");

const codecPath = path.resolve(process.argv[2]);
const codec = require(codecPath);
const vectors = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));

function es5Check(source) {
  let acorn;
  try {
    acorn = require("internal/deps/acorn/acorn/dist/acorn");
  } catch (e) {
    return { checked: false, error: "acorn not available: " + e.message };
  }
  try {
    acorn.parse(source, { ecmaVersion: 5, sourceType: "script" });
    return { checked: true, error: null };
  } catch (e) {
    return { checked: true, error: e.message };
  }
}

const out = {
  decodeUplink: vectors.decodeUplink.map((input) => codec.decodeUplink(input)),
  decodeDownlink: vectors.decodeDownlink.map((input) => codec.decodeDownlink(input)),
  encodeDownlink: vectors.encodeDownlink.map((input) => codec.encodeDownlink(input)),
  oddInputs: vectors.oddInputs.map((input) => [codec.decodeUplink(input), codec.decodeDownlink(input)]),
  species: codec.SPECIES,
  ports: { uplink: codec.UPLINK_PORT, downlink: codec.DOWNLINK_PORT },
  es5: es5Check(fs.readFileSync(codecPath, "utf8")),
};
process.stdout.write(JSON.stringify(out));
