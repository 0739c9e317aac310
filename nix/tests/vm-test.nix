# NixOS VM test: the module starts both services on one machine with the local shell provider
# (each "VM" is a process running the fake forgejo-runner) against a fake Forgejo, runs the queued
# jobs, and leaves nothing behind. With database = "postgres" the dispatcher's store is a local
# services.postgresql database (services.forgejo-fleet.database.createLocally, peer authentication).
#
#   nix build .#checks.x86_64-linux.vm-test            (needs KVM; add -L for the VM's log)
#   nix build .#checks.x86_64-linux.vm-test-postgres
{
  pkgs,
  module ? ../module.nix,
  testPackage ? pkgs.callPackage ../package.nix { withTestTools = true; },
  database ? "sqlite",
}:
let
  postgres = database == "postgres";
  jobs = 3;
  secrets = "/run/fake-forgejo";
  dispatcherPort = 8080;
in
pkgs.testers.runNixOSTest {
  name = if postgres then "forgejo-fleet-postgres" else "forgejo-fleet";

  nodes.machine =
    { pkgs, ... }:
    {
      imports = [ module ];
      virtualisation.memorySize = 2048;
      virtualisation.cores = 2;
      environment.systemPackages = [
        pkgs.curl
        pkgs.jq
        testPackage
      ];

      # The fake Forgejo writes the secrets both services load (0600, root) and status.json.
      systemd.services.fake-forgejo = {
        wantedBy = [ "multi-user.target" ];
        before = [
          "forgejo-fleet-dispatcher.service"
          "forgejo-fleet-autoscaler.service"
        ];
        serviceConfig = {
          Type = "exec";
          ExecStart = "${testPackage}/bin/forgejo-fleet-fake-forgejo --port 3000 --state ${secrets} --jobs ${toString jobs} --labels linux";
          # Started means the secrets exist: the fleet services load them as credentials at their start.
          ExecStartPost = "${pkgs.bash}/bin/bash -c 'for _ in $$(seq 600); do [ -s ${secrets}/status.json ] && exit 0; sleep 0.1; done; exit 1'";
          RuntimeDirectory = "fake-forgejo";
        };
      };
      systemd.services.forgejo-fleet-dispatcher.requires = [ "fake-forgejo.service" ];
      systemd.services.forgejo-fleet-autoscaler.requires = [ "fake-forgejo.service" ];

      services.forgejo-fleet = {
        enable = true;
        package = testPackage;
        database = {
          kind = database;
          createLocally = true;
        };

        dispatcher = {
          settings = {
            fleet_id = "vm-test";
            listen.port = dispatcherPort;
            forgejo = {
              api_url = "http://127.0.0.1:3000";
              instance_url = "http://127.0.0.1:3000";
              token_file = "forgejo-token";
            };
            reconcile.interval = "1s";
            providers.local = {
              kind = "shell";
              command = [ "${testPackage}/bin/forgejo-fleet-local-provider" ];
              timeout = "60s";
              env = {
                FORGEJO_FLEET_LOCAL_STATE = "/var/lib/forgejo-fleet-dispatcher/vms";
                FAKE_RUNNER_JOB_MS = "500";
              };
            };
            routes = [
              {
                name = "linux";
                labels = [ "linux" ];
                providers = [ "local" ];
              }
            ];
            scopes."org:acme" = { };
            clients = [
              {
                name = "autoscaler";
                token_file = "dispatcher-token";
                scopes = [ "*" ];
              }
            ];
          };
          credentials = {
            forgejo-token = "${secrets}/forgejo-token";
            dispatcher-token = "${secrets}/dispatcher-token";
          };
        };

        autoscaler = {
          enable = true;
          settings = {
            forgejo.api_url = "http://127.0.0.1:3000";
            # dispatcher.url defaults to the dispatcher on this host.
            dispatcher.token_file = "dispatcher-token";
            poll.interval = "1s";
            scopes."org:acme".token_file = "forgejo-token-acme";
          };
          credentials = {
            dispatcher-token = "${secrets}/dispatcher-token";
            forgejo-token-acme = "${secrets}/forgejo-token-acme";
          };
        };
      };
    };

  testScript = ''
    import re

    machine.wait_for_unit("fake-forgejo.service")
    machine.wait_for_unit("forgejo-fleet-dispatcher.service")
    machine.wait_for_unit("forgejo-fleet-autoscaler.service")
    machine.wait_for_open_port(${toString dispatcherPort})
    machine.wait_until_succeeds("curl -fsS http://127.0.0.1:${toString dispatcherPort}/readyz", timeout=60)

    with subtest("every queued job runs on its own VM and succeeds"):
        machine.wait_until_succeeds(
            "jq -e '.jobs.success == ${toString jobs}' ${secrets}/status.json", timeout=300
        )

    with subtest("nothing is left behind"):
        machine.wait_until_succeeds("jq -e '.runners_left == 0' ${secrets}/status.json", timeout=120)
        machine.wait_until_succeeds(
            "test -z \"$(ls -A /var/lib/private/forgejo-fleet-dispatcher/vms/instances)\"", timeout=120
        )

    ${
      if postgres then
        ''
          with subtest("the dispatches are in the local PostgreSQL database, reached by peer authentication"):
              machine.succeed("systemctl show -p Requires forgejo-fleet-dispatcher | grep -q postgresql.service")
              count = machine.succeed(
                  "runuser -u postgres -- psql -d forgejo-fleet-dispatcher -tAc 'SELECT count(*) FROM dispatches'"
              ).strip()
              assert count == "${toString jobs}", f"dispatches in PostgreSQL: {count}"
              machine.fail("test -e /var/lib/private/forgejo-fleet-dispatcher/dispatcher.db")
        ''
      else
        ""
    }
    with subtest("the HTTP smoke passes against the running pair"):
        machine.succeed(
            "DISPATCHER_URL=http://127.0.0.1:${toString dispatcherPort} "
            "DISPATCHER_TOKEN_FILE=${secrets}/dispatcher-token "
            "SMOKE_DISPATCH=1 SMOKE_SCOPE=org:acme SMOKE_LABELS=linux "
            "forgejo-fleet-runtime-http-smoke"
        )

    with subtest("the generated units are sandboxed (exposure <= 2.0)"):
        for unit in ["forgejo-fleet-dispatcher.service", "forgejo-fleet-autoscaler.service"]:
            out = machine.succeed(f"systemd-analyze security {unit}")
            exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", out).group(1))
            assert exposure <= 2.0, f"{unit}: exposure {exposure}"

    with subtest("secrets are credentials, not environment"):
        machine.fail("systemctl show -p Environment forgejo-fleet-dispatcher | grep -i token")

    with subtest("both stop cleanly"):
        machine.succeed("systemctl stop forgejo-fleet-autoscaler.service forgejo-fleet-dispatcher.service")
        machine.fail("systemctl is-failed forgejo-fleet-dispatcher.service")
        machine.fail("systemctl is-failed forgejo-fleet-autoscaler.service")
  '';
}
