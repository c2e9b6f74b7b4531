// Replays the examples of a The Things Stack codec file through the codec it names.
// usage: node device_repo_runner.js <codec.js> <examples.json>  -> results JSON on stdout
"use strict";

const fs = require("fs");
const path = require("path");

const codec = require(path.resolve(process.argv[2]));
const sections = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const functions = { uplinkDecoder: codec.decodeUplink, downlinkEncoder: codec.encodeDownlink,
                    downlinkDecoder: codec.decodeDownlink };
const out = {};
for (const name of Object.keys(sections)) {
  out[name] = sections[name].map((input) => functions[name](input));
}
process.stdout.write(JSON.stringify(out));
