const assert = require("node:assert/strict");
const { greet } = require("../src/greet");

assert.equal(greet("Ada"), "Hello, Ada!");
console.log("greet.test.js: ok");
