# Sourced by the provisioning scripts (test/e2e/provision.sh, test/capture/provisionClaudeCode.sh).
# npm with none of the outer npm's variables: what a plain shell would run. `npm test` exports
# npm_config_* describing the outer run (npm_config_user_agent names Node 20; code-server's
# install script reads it and refuses), so inner installs drop every npm_* variable.
clean_npm() {
  local vars
  vars=$(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p; s/^\(INIT_CWD\)=.*/\1/p; s/^\(NODE\)=.*/\1/p')
  # shellcheck disable=SC2086
  env $(for v in $vars; do printf -- '-u %s ' "$v"; done) "$@"
}
