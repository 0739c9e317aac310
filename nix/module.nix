# NixOS module: services.forgejo-fleet (dispatcher and autoscaler). See docs/install-nixos.md.
#
# Each service gets its config either from `settings` (structured, written as YAML into the store:
# it must hold no secrets, and the config schema refuses inline ones) or from `configFile` (raw,
# e.g. an agenix/sops secret). Secrets reach the service through `credentials` (name → file, passed
# with LoadCredential=); the config names them as `X_file: NAME`, which resolves against
# $CREDENTIALS_DIRECTORY. The config file itself is passed the same way, so a root-only file from
# agenix/sops works with DynamicUser.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    mkOption
    mkEnableOption
    mkIf
    types
    literalExpression
    ;
  cfg = config.services.forgejo-fleet;
  yaml = pkgs.formats.yaml { };

  # The dispatcher's store (nix/database.nix): settings, environment, credentials and units.
  database = import ./database.nix {
    inherit (cfg.database) kind createLocally;
    urlFile = if cfg.database.urlFile == null then null else toString cfg.database.urlFile;
    user = "forgejo-fleet-dispatcher";
  };

  forgejoCfg = config.services.forgejo or { enable = false; };
  forgejoOnHost = forgejoCfg.enable or false;
  forgejoServer = if forgejoOnHost then forgejoCfg.settings.server or { } else { };
  # What the services call: Forgejo's own loopback address when it listens on TCP.
  forgejoLocalUrl =
    if !forgejoOnHost then
      null
    else if forgejoServer ? LOCAL_ROOT_URL then
      forgejoServer.LOCAL_ROOT_URL
    else if (forgejoServer.PROTOCOL or "http") == "http" && forgejoServer ? HTTP_PORT then
      "http://127.0.0.1:${toString forgejoServer.HTTP_PORT}"
    else
      forgejoServer.ROOT_URL or null;
  # What runners on the VMs reach.
  forgejoPublicUrl = if forgejoOnHost then forgejoServer.ROOT_URL or null else null;

  stripNulls = lib.filterAttrsRecursive (_: v: v != null);
  inStore = path: lib.hasPrefix builtins.storeDir (toString path);

  # Options shared by both services.
  serviceOptions =
    {
      name,
      defaultEnable,
      settingsOptions,
      example,
    }:
    {
      enable = mkOption {
        type = types.bool;
        default = defaultEnable;
        description = "Whether to run the forgejo-fleet ${name}.";
      };

      settings = mkOption {
        type = types.submodule {
          freeformType = yaml.type;
          options = settingsOptions;
        };
        default = { };
        inherit example;
        description = ''
          The ${name} configuration (see docs/config-reference.md), written to YAML in the Nix store.
          Never put secrets here: name them as `X_file = "NAME"` and pass the file with `credentials.NAME`.
          Ignored when `configFile` is set.
        '';
      };

      configFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        example = literalExpression "config.age.secrets.forgejo-fleet-${name}.path";
        description = ''
          A raw ${name} YAML file used instead of `settings`, e.g. a decrypted agenix/sops secret.
          It is passed to the service as a systemd credential, so a root-only (0400) file works.
        '';
      };

      credentials = mkOption {
        type = types.attrsOf types.path;
        default = { };
        example = literalExpression ''
          {
            forgejo-token = config.age.secrets.forgejo-token.path;
            dispatcher-token-autoscaler = "/run/keys/dispatcher-token-autoscaler";
          }
        '';
        description = ''
          Secrets by name, each passed with `LoadCredential=NAME:PATH`. The config refers to them as
          `X_file: NAME` (relative paths resolve against $CREDENTIALS_DIRECTORY). Use paths outside
          the Nix store (agenix, sops-nix, /run/keys, /etc/…): the store is world-readable.
        '';
      };

      extraEnv = mkOption {
        type = types.attrsOf types.str;
        default = { };
        example = {
          NODE_OPTIONS = "--max-old-space-size=256";
        };
        description = "Extra environment variables. Not for secrets (they show in `systemctl show`).";
      };

      allowPending = mkOption {
        type = types.bool;
        default = false;
        description = ''
          For staged rollouts: while the config file or a credential file does not exist yet, the
          unit is skipped (ConditionPathExists) instead of failing, and it starts once the config
          file appears; a placeholder config that does not validate yet (exit 78) leaves the unit
          inactive instead of failed, so `nixos-rebuild switch` succeeds. The reason is in the journal.
        '';
      };
    };

  # A YAML section with a few declared keys; every other key passes through as written.
  section =
    options:
    mkOption {
      type = types.submodule {
        freeformType = yaml.type;
        inherit options;
      };
      default = { };
      description = "See docs/config-reference.md.";
    };

  urlOption =
    default: defaultText: description:
    mkOption {
      type = types.nullOr types.str;
      inherit default defaultText description;
    };

  configFileOf =
    name: scfg:
    if scfg.configFile != null then
      scfg.configFile
    else
      yaml.generate "forgejo-fleet-${name}.yaml" (stripNulls scfg.settings);

  hardening = {
    DynamicUser = true;
    UMask = "0077";
    CapabilityBoundingSet = [ "" ];
    AmbientCapabilities = [ "" ];
    NoNewPrivileges = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateDevices = true;
    PrivateUsers = true;
    PrivateIPC = true;
    PrivateMounts = true;
    ProtectHostname = true;
    ProtectClock = true;
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectProc = "invisible";
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    RemoveIPC = true;
    LockPersonality = true;
    KeyringMode = "private";
    DevicePolicy = "closed";
    RestrictAddressFamilies = [
      "AF_INET"
      "AF_INET6"
      "AF_UNIX"
    ];
    SystemCallArchitectures = "native";
    SystemCallFilter = [
      "@system-service"
      "~@privileged @obsolete @mount @debug @cpu-emulation @swap @reboot @raw-io @module @clock"
    ];
    SystemCallErrorNumber = "EPERM";
    # V8 (Node's JavaScript engine) is a JIT: it maps memory writable and then executable.
    # With MemoryDenyWriteExecute=true node aborts at start.
    MemoryDenyWriteExecute = false;
  };

  mkService =
    {
      name,
      scfg,
      description,
      stopTimeout,
      after,
    }:
    let
      file = configFileOf name scfg;
      pendingPaths = lib.optional (scfg.configFile != null) scfg.configFile ++ lib.attrValues scfg.credentials;
    in
    {
      inherit description;
      documentation = [ "file:${cfg.package}/share/doc/forgejo-fleet/docs/install-nixos.md" ];
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ] ++ after;
      environment = {
        NODE_ENV = "production";
      } // scfg.extraEnv;
      unitConfig = mkIf scfg.allowPending {
        ConditionPathExists = map toString pendingPaths;
      };
      serviceConfig = hardening // {
        Type = "exec";
        ExecStart = "${cfg.package}/bin/forgejo-fleet-${name} --config %d/config.yaml";
        LoadCredential = [ "config.yaml:${toString file}" ] ++ lib.mapAttrsToList (id: path: "${id}:${toString path}") scfg.credentials;
        StateDirectory = "forgejo-fleet-${name}";
        StateDirectoryMode = "0700";
        WorkingDirectory = "%S/forgejo-fleet-${name}";
        KillSignal = "SIGTERM";
        # SIGTERM to the main process only; what is left of the cgroup afterwards gets SIGKILL.
        KillMode = "mixed";
        TimeoutStopSec = stopTimeout;
        Restart = "on-failure";
        RestartSec = "5s";
        # 78 (EX_CONFIG) and 64 (EX_USAGE) are permanent: fix the config, do not loop.
        # The dispatcher's store: 65 (EX_DATAERR) unreadable, corrupt or newer; 69 (EX_UNAVAILABLE)
        # held by another live dispatcher (docs/troubleshooting.md).
        RestartPreventExitStatus = [
          64
          65
          69
          78
        ];
        SuccessExitStatus = lib.optional scfg.allowPending 78;
      };
    };

  pendingPath = name: scfg: {
    description = "Start forgejo-fleet-${name} once its config file exists";
    wantedBy = [ "multi-user.target" ];
    pathConfig = {
      PathExists = toString scfg.configFile;
      Unit = "forgejo-fleet-${name}.service";
    };
  };

  storeWarnings =
    name: scfg:
    lib.mapAttrsToList (
      id: path:
      "services.forgejo-fleet.${name}.credentials.${id} is in the Nix store (${toString path}), which every local user can read; use agenix, sops-nix or a path outside the store."
    ) (lib.filterAttrs (_: inStore) scfg.credentials)
    ++ lib.optional (scfg.configFile != null && inStore scfg.configFile) "services.forgejo-fleet.${name}.configFile is in the Nix store; fine only if it holds no secrets (use `settings` for that case).";
in
{
  options.services.forgejo-fleet = {
    enable = mkEnableOption "forgejo-fleet, one fresh VM per Forgejo Actions job";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = literalExpression "pkgs.callPackage ./nix/package.nix { }";
      description = "The forgejo-fleet package (bins forgejo-fleet-dispatcher, forgejo-fleet-autoscaler, forgejo-fleet).";
    };

    database = {
      kind = mkOption {
        type = types.enum [
          "sqlite"
          "postgres"
        ];
        default = "sqlite";
        description = ''
          The dispatcher's store. `sqlite`: one file in its state directory, one dispatcher.
          `postgres`: a PostgreSQL database, shared by several dispatchers (docs/ha.md); either
          on this host (`createLocally`) or elsewhere (`urlFile`). Sets `settings.store`; with
          `configFile`, write the store block yourself (docs/install-nixos.md).
        '';
      };

      createLocally = mkOption {
        type = types.bool;
        default = true;
        description = ''
          With `kind = "postgres"`: create the database and role `forgejo-fleet-dispatcher` on
          this host's `services.postgresql` (ensureDatabases, ensureUsers) and connect over the
          unix socket with peer authentication, so no password exists. The dispatcher unit gets
          After= and Requires= on postgresql.service. Backups stay the operator's (e.g.
          services.postgresqlBackup).
        '';
      };

      urlFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        example = literalExpression "config.age.secrets.forgejo-fleet-database-url.path";
        description = ''
          With `kind = "postgres"` and `createLocally = false`: a file holding
          `postgres://user:password@host:port/database`, passed as the credential `database-url`
          (`store.url_file`). TLS follows `settings.store.tls` (verify-full by default). Keep the
          file out of the Nix store.
        '';
      };
    };

    dispatcher = serviceOptions {
      name = "dispatcher";
      defaultEnable = true;
      example = literalExpression ''
        {
          fleet_id = "acme-ci";
          forgejo.token_file = "forgejo-token";
          providers.hetzner-fsn = { kind = "hetzner"; token_file = "hcloud-token"; server_types = [ "cx23" ]; locations = [ "fsn1" ]; image = "ubuntu-24.04"; };
          routes = [ { name = "linux"; labels = [ "linux" ]; providers = [ "hetzner-fsn" ]; } ];
          scopes."org:acme" = { };
          clients = [ { name = "autoscaler"; token_file = "dispatcher-token-autoscaler"; scopes = [ "*" ]; } ];
        }
      '';
      settingsOptions = {
        listen = section {
          host = mkOption {
            type = types.str;
            default = "127.0.0.1";
            description = "Address of the dispatch API. Keep it on loopback or a private network.";
          };
          port = mkOption {
            type = types.port;
            default = 8080;
            description = "Port of the dispatch API (also the autoscaler's default dispatcher URL).";
          };
        };
        store = section {
          path = mkOption {
            type = types.str;
            default = "dispatcher.db";
            description = "SQLite store; relative to the state directory /var/lib/forgejo-fleet-dispatcher.";
          };
        };
        forgejo = section {
          api_url = urlOption forgejoLocalUrl (literalExpression "services.forgejo LOCAL_ROOT_URL or http://127.0.0.1:HTTP_PORT, when Forgejo runs on this host") "The Forgejo URL the dispatcher calls.";
          instance_url = urlOption forgejoPublicUrl (literalExpression "services.forgejo.settings.server.ROOT_URL, when Forgejo runs on this host") "The Forgejo URL runners on the VMs reach (public or VPC address).";
        };
      };
    };

    autoscaler = serviceOptions {
      name = "autoscaler";
      defaultEnable = false;
      example = literalExpression ''
        {
          dispatcher.token_file = "dispatcher-token";
          scopes."org:acme".token_file = "forgejo-token-acme";
        }
      '';
      settingsOptions = {
        forgejo = section {
          api_url = urlOption forgejoLocalUrl (literalExpression "services.forgejo LOCAL_ROOT_URL or http://127.0.0.1:HTTP_PORT, when Forgejo runs on this host") "The Forgejo URL the autoscaler polls.";
        };
        dispatcher = section {
          url = urlOption (
          if cfg.dispatcher.enable then
            "http://${
              if cfg.dispatcher.settings.listen.host == "0.0.0.0" then "127.0.0.1" else cfg.dispatcher.settings.listen.host
            }:${toString cfg.dispatcher.settings.listen.port}"
          else
            null
          ) (literalExpression "the dispatcher on this host, when services.forgejo-fleet.dispatcher.enable") "The dispatcher URL.";
        };
      };
    };
  };

  config = mkIf cfg.enable (
    lib.mkMerge [
      {
        warnings = storeWarnings "dispatcher" cfg.dispatcher ++ storeWarnings "autoscaler" cfg.autoscaler;
        assertions =
          map (message: {
            assertion = false;
            inherit message;
          }) database.errors
          ++ lib.concatMap
            (name: [
              {
                assertion =
                  !cfg.${name}.enable || cfg.${name}.configFile != null || cfg.${name}.settings.forgejo.api_url != null;
                message = "services.forgejo-fleet.${name}: set settings.forgejo.api_url (no Forgejo on this host to take it from) or configFile.";
              }
              {
                assertion = lib.all (id: builtins.match "[A-Za-z0-9_.-]+" id != null && id != "config.yaml") (lib.attrNames cfg.${name}.credentials);
                message = "services.forgejo-fleet.${name}.credentials: names may use letters, digits, '.', '_' and '-', and config.yaml is taken by the config file.";
              }
            ])
            [
              "dispatcher"
              "autoscaler"
            ];
        environment.systemPackages = [ cfg.package ];
      }
      (mkIf cfg.dispatcher.enable {
        systemd.services.forgejo-fleet-dispatcher = lib.mkMerge [
          (mkService {
            name = "dispatcher";
            scfg = cfg.dispatcher;
            description = "forgejo-fleet dispatcher (one VM per Forgejo Actions job)";
            # In-flight provisioning (runner registration, provider create calls) finishes on SIGTERM.
            stopTimeout = "5min";
            after = lib.optional forgejoOnHost "forgejo.service" ++ database.units;
          })
          {
            requires = database.units;
            environment = database.environment;
          }
        ];
        services.forgejo-fleet.dispatcher.settings.store = lib.mapAttrs (_: lib.mkDefault) database.store;
        services.forgejo-fleet.dispatcher.credentials = database.credentials;
        services.postgresql = mkIf (database.postgresql != null) database.postgresql;
        systemd.paths.forgejo-fleet-dispatcher = mkIf (cfg.dispatcher.allowPending && cfg.dispatcher.configFile != null) (
          pendingPath "dispatcher" cfg.dispatcher
        );
      })
      (mkIf cfg.autoscaler.enable {
        systemd.services.forgejo-fleet-autoscaler = mkService {
          name = "autoscaler";
          scfg = cfg.autoscaler;
          description = "forgejo-fleet autoscaler (Forgejo job queues to dispatcher)";
          stopTimeout = "1min";
          after = lib.optional forgejoOnHost "forgejo.service" ++ lib.optional cfg.dispatcher.enable "forgejo-fleet-dispatcher.service";
        };
        systemd.paths.forgejo-fleet-autoscaler = mkIf (cfg.autoscaler.allowPending && cfg.autoscaler.configFile != null) (
          pendingPath "autoscaler" cfg.autoscaler
        );
      })
    ]
  );
}
