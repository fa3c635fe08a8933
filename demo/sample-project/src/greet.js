// Greets people by name.
function greet(name) {
  return "Helo, " + name + "!";
}

module.exports = { greet };
