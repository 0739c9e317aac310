# What services.forgejo-fleet.database turns into (module.nix applies it). Plain Nix with
# builtins only, so test/deploy/nix.test.ts evaluates it with nix-instantiate and no nixpkgs.
#
#   kind = "sqlite":  nothing changes; the dispatcher keeps its SQLite file in its state directory.
#   kind = "postgres", createLocally = true: a database and a role named after the dispatcher's
#     (dynamic) user on this host's services.postgresql, reached over the unix socket with peer
#     authentication: no password exists anywhere. The unit waits for and requires postgresql.
#   kind = "postgres", createLocally = false: the URL (with its password) comes from urlFile,
#     passed as the credential `database-url`; TLS follows settings.store.tls (verify-full).
{
  kind,
  createLocally,
  # A path as a string, or null.
  urlFile,
  # The dispatcher unit's user: DynamicUser names it after the unit, and peer authentication
  # maps that name to the role of the same name.
  user,
}:
let
  postgres = kind == "postgres";
  local = postgres && createLocally;
  external = postgres && !createLocally;
  # node-postgres takes the socket folder from `host`; the URL's own host is then unused.
  socketUrl = "postgres://${user}@localhost/${user}?host=/run/postgresql";
in
{
  # Become assertions: each names the option to change.
  errors =
    (
      if !(builtins.elem kind [ "sqlite" "postgres" ]) then
        [ "services.forgejo-fleet.database.kind must be \"sqlite\" or \"postgres\", not \"${kind}\"." ]
      else
        [ ]
    )
    ++ (
      if external && urlFile == null then
        [ "services.forgejo-fleet.database: kind = \"postgres\" needs urlFile (a file holding postgres://user:password@host:port/database) or createLocally = true." ]
      else
        [ ]
    )
    ++ (
      if local && urlFile != null then
        [ "services.forgejo-fleet.database: urlFile and createLocally exclude each other (a local database needs no URL)." ]
      else
        [ ]
    )
    ++ (
      if !postgres && urlFile != null then
        [ "services.forgejo-fleet.database.urlFile is only for kind = \"postgres\"." ]
      else
        [ ]
    );

  # Merged into settings.store (each key as a default the settings may override).
  store =
    if local then
      {
        kind = "postgres";
        url_env = "FORGEJO_FLEET_DATABASE_URL";
        # A unix socket: nothing to encrypt, and the server offers no TLS on it.
        tls = {
          mode = "disable";
        };
      }
    else if external then
      {
        kind = "postgres";
        url_file = "database-url";
      }
    else
      { };

  # The socket URL holds no secret, so the environment may carry it.
  environment = if local then { FORGEJO_FLEET_DATABASE_URL = socketUrl; } else { };

  credentials = if external && urlFile != null then { database-url = urlFile; } else { };

  # After= and Requires= of the dispatcher unit.
  units = if local then [ "postgresql.service" ] else [ ];

  # services.postgresql, when local.
  postgresql =
    if local then
      {
        enable = true;
        ensureDatabases = [ user ];
        ensureUsers = [
          {
            name = user;
            ensureDBOwnership = true;
          }
        ];
      }
    else
      null;
}
