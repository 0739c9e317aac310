{
  description = "forgejo-fleet: one fresh VM per Forgejo Actions job (dispatcher, autoscaler, CLI)";

  # `nix flake lock` writes flake.lock on first use; commit it to pin nixpkgs.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: {
        forgejo-fleet = pkgs.callPackage ./nix/package.nix { };
        # Plus the local provider, a fake Forgejo and the smoke scripts: for tests and demos.
        forgejo-fleet-testing = pkgs.callPackage ./nix/package.nix { withTestTools = true; };
        default = self.packages.${pkgs.stdenv.hostPlatform.system}.forgejo-fleet;
      });

      overlays.default = final: _prev: {
        forgejo-fleet = final.callPackage ./nix/package.nix { };
      };

      # Import at the host level: `imports = [ inputs.forgejo-fleet.nixosModules.default ];`
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          services.forgejo-fleet.package =
            lib.mkDefault
              self.packages.${pkgs.stdenv.hostPlatform.system}.forgejo-fleet;
        };
      nixosModules.forgejo-fleet = self.nixosModules.default;

      checks = forAllSystems (
        pkgs:
        let
          system = pkgs.stdenv.hostPlatform.system;
        in
        {
          package = self.packages.${system}.forgejo-fleet;
          vm-test = import ./nix/tests/vm-test.nix {
            inherit pkgs;
            module = self.nixosModules.default;
            testPackage = self.packages.${system}.forgejo-fleet-testing;
          };
          vm-test-postgres = import ./nix/tests/vm-test.nix {
            inherit pkgs;
            module = self.nixosModules.default;
            testPackage = self.packages.${system}.forgejo-fleet-testing;
            database = "postgres";
          };
        }
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.nodejs_20
            pkgs.curl
            pkgs.jq
            pkgs.shellcheck
            pkgs.python3
          ];
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt-rfc-style);
    };
}
