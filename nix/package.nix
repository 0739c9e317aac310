# forgejo-fleet: the dispatcher, the autoscaler and the operator CLI, built from the npm workspaces
# with the lockfile (package-lock.json).
#
#   nix build .#forgejo-fleet         → bin/forgejo-fleet-dispatcher, bin/forgejo-fleet-autoscaler, bin/forgejo-fleet
#   nix build .#forgejo-fleet-testing → the same plus the local provider and a fake Forgejo (VM test, demos)
#
# npmDepsHash pins the npm dependencies. After any change to package-lock.json, update it:
#   1. set it to lib.fakeHash (or leave the placeholder below),
#   2. run `nix build .#forgejo-fleet`: the build stops with
#        error: hash mismatch in fixed-output derivation ...-forgejo-fleet-0.1.0-npm-deps.drv':
#                 specified: sha256-AAAA...
#                    got:    sha256-<the real hash>
#   3. paste the `got:` value here. (`nix run nixpkgs#prefetch-npm-deps package-lock.json` prints it too.)
{
  lib,
  buildNpmPackage,
  nodejs_20,
  makeWrapper,
  python3,
  bash,
  curl,
  jq,
  # Also install the local shell provider and the fake Forgejo from scripts/, and keep the dev
  # dependencies they run on (tsx, the testkit). For tests and demos, never for production.
  withTestTools ? false,
}:
let
  packageJson = lib.importJSON ../package.json;
  # Only what the build reads; a local node_modules/ or dist/ never leaks into the source.
  src = lib.cleanSourceWith {
    src = lib.cleanSource ../.;
    filter =
      path: type:
      let
        name = baseNameOf path;
        relative = lib.removePrefix (toString ../. + "/") (toString path);
        topLevel = lib.head (lib.splitString "/" relative);
      in
      !(lib.elem name [
        "node_modules"
        "dist"
        "result"
        "coverage"
        "bench-results"
      ])
      && !(lib.hasSuffix ".tsbuildinfo" name)
      && (
        lib.elem topLevel [
          "apps"
          "packages"
          "scripts"
          "docs"
        ]
        || lib.elem relative [
          "package.json"
          "package-lock.json"
          "tsconfig.base.json"
          "tsconfig.build.json"
          "config.example.yaml"
          "autoscaler.example.yaml"
          "README.md"
        ]
      );
  };
in
buildNpmPackage {
  pname = if withTestTools then "forgejo-fleet-testing" else "forgejo-fleet";
  inherit (packageJson) version;
  inherit src;
  nodejs = nodejs_20;

  # Placeholder: see the top of this file for how to get the real value.
  npmDepsHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

  # better-sqlite3 compiles its native addon with node-gyp against these Node headers.
  nativeBuildInputs = [
    makeWrapper
    python3
  ];

  # `npm run build`: tsc -b over every workspace, dist/ per package.
  npmBuildScript = "build";

  installPhase = ''
    runHook preInstall

    ${lib.optionalString (!withTestTools) "npm prune --omit=dev --no-save --offline --ignore-scripts"}

    lib=$out/lib/forgejo-fleet
    mkdir -p "$lib" $out/bin $out/share/doc/forgejo-fleet
    # node_modules/@forgejo-fleet/* are relative symlinks into apps/ and packages/: copy them together.
    cp -r package.json node_modules apps packages "$lib"/
    cp -r docs config.example.yaml autoscaler.example.yaml README.md $out/share/doc/forgejo-fleet/

    for bin in dispatcher:forgejo-fleet-dispatcher autoscaler:forgejo-fleet-autoscaler cli:forgejo-fleet; do
      app=''${bin%%:*}
      name=''${bin#*:}
      main="$lib/apps/$app/dist/main.js"
      if [ ! -f "$main" ]; then
        echo "apps/$app/dist/main.js was not built: is apps/$app/src/main.ts missing?" >&2
        exit 1
      fi
      makeWrapper ${lib.getExe nodejs_20} "$out/bin/$name" --add-flags "$main"
    done

    ${lib.optionalString withTestTools ''
      cp -r scripts "$lib"/
      patchShebangs "$lib/scripts"
      makeWrapper "$lib/scripts/providers/local.sh" $out/bin/forgejo-fleet-local-provider \
        --prefix PATH : ${lib.makeBinPath [ nodejs_20 ]}
      makeWrapper ${lib.getExe nodejs_20} $out/bin/forgejo-fleet-fake-forgejo \
        --add-flags "--conditions=source --import $lib/node_modules/tsx/dist/loader.mjs $lib/scripts/smoke/fake-forgejo.ts"
      for script in runtime-http-smoke smoke-live; do
        makeWrapper "$lib/scripts/$script.sh" "$out/bin/forgejo-fleet-$script" \
          --prefix PATH : ${
            lib.makeBinPath [
              bash
              curl
              jq
            ]
          }
      done
    ''}

    runHook postInstall
  '';

  meta = {
    description = "One fresh VM per Forgejo Actions job: dispatcher, autoscaler and operator CLI";
    license = lib.licenses.mit;
    mainProgram = "forgejo-fleet";
    platforms = lib.platforms.linux;
  };
}
