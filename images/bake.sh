#!/usr/bin/env bash
# Bakes a forgejo-fleet runner image (forgejo-runner + Docker preinstalled) with cloud-init only:
# boot a stock Ubuntu/Debian VM with the rendered user-data, let it install and power off, snapshot
# its disk. Routes using the image set `runner.install: {mode: baked}` and `install_docker: false`.
# See docs/runner-images.md. Run with -h.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: images/bake.sh render  --runner-version V --sha256 HEX [--arch amd64|arm64]
       images/bake.sh hetzner --runner-version V --sha256 HEX [--location fsn1] [--server-type cx23]
                              [--base-image ubuntu-24.04] [--name NAME]
       images/bake.sh aws     --runner-version V --sha256 HEX --base-ami ami-… [--region eu-central-1]
                              [--instance-type t3.small] [--subnet subnet-…] [--name NAME]
       images/bake.sh -h

render   prints the bake user-data (#cloud-config) on stdout; use it with any cloud.
hetzner  creates a builder server with the hcloud CLI (HCLOUD_TOKEN in the environment), waits
         until it powers off, snapshots it (labels forgejo-fleet-runner=V), deletes the server, and
         prints the snapshot id for the provider's `image: {id: …}`.
aws      launches a builder instance with the aws CLI (its usual credential chain), waits until it
         stops, creates an AMI (tag forgejo-fleet-runner=V), terminates the instance, and prints the
         AMI id for the provider's `image_id`.

--sha256 is the SHA-256 of forgejo-runner-V-linux-ARCH as published with the release (64 lowercase
hex digits); the bake refuses a binary that does not match. The builder is deleted on every exit
path once it exists. Exit status: 0 done, 1 a step failed, 2 usage error.
EOF
}

die() {
  echo "bake: $1" >&2
  exit "${2:-1}"
}

[[ $# -gt 0 ]] || {
  usage >&2
  exit 2
}
command="$1"
shift
case "$command" in
  -h | --help | help)
    usage
    exit 0
    ;;
  render | hetzner | aws) ;;
  *) die "unknown command '$command' (render, hetzner or aws; -h for the usage)" 2 ;;
esac

version=""
sha256=""
arch="amd64"
location="fsn1"
server_type="cx23"
base_image="ubuntu-24.04"
base_ami=""
region="eu-central-1"
instance_type="t3.small"
subnet=""
name=""
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || die "$1 needs a value" 2
  case "$1" in
    --runner-version) version="$2" ;;
    --sha256) sha256="$2" ;;
    --arch) arch="$2" ;;
    --location) location="$2" ;;
    --server-type) server_type="$2" ;;
    --base-image) base_image="$2" ;;
    --base-ami) base_ami="$2" ;;
    --region) region="$2" ;;
    --instance-type) instance_type="$2" ;;
    --subnet) subnet="$2" ;;
    --name) name="$2" ;;
    *) die "unknown option $1 (-h for the usage)" 2 ;;
  esac
  shift 2
done

[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--runner-version must look like 12.8.2 (got '$version')" 2
[[ "$sha256" =~ ^[0-9a-f]{64}$ ]] || die "--sha256 must be 64 lowercase hex digits (the release's checksum)" 2
[[ "$arch" == amd64 || "$arch" == arm64 ]] || die "--arch must be amd64 or arm64 (got '$arch')" 2
name="${name:-forgejo-fleet-runner-${version//./-}-$(date -u +%Y%m%d%H%M)}"
[[ "$name" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || die "--name must be lowercase letters, digits and '-' (got '$name')" 2

render() {
  local url="https://code.forgejo.org/forgejo/runner/releases/download/v${version}/forgejo-runner-${version}-linux-${arch}"
  cat <<EOF
#cloud-config
# forgejo-fleet runner image bake: forgejo-runner ${version} and Docker, then power off for the snapshot.
package_update: true
package_upgrade: true
packages:
  - ca-certificates
  - curl
  - docker.io
  - iptables
  - git
write_files:
  - path: /etc/forgejo-fleet-image
    permissions: '0644'
    content: |
      forgejo_runner_version=${version}
      forgejo_runner_sha256=${sha256}
      baked_by=forgejo-fleet images/bake.sh
runcmd:
  - [sh, -c, 'set -eu; curl -fsSL --retry 5 -o /tmp/forgejo-runner "\$0"; echo "\$1  /tmp/forgejo-runner" | sha256sum -c -; install -m 0755 -o root -g root /tmp/forgejo-runner /usr/local/bin/forgejo-runner; rm -f /tmp/forgejo-runner', '${url}', '${sha256}']
  - [/usr/local/bin/forgejo-runner, --version]
  - [systemctl, enable, docker.service]
  # Pre-pull nothing: job images change; the runner pulls them. Leave a clean first boot behind:
  - [sh, -c, 'apt-get clean; rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/*; truncate -s 0 /etc/machine-id; rm -f /var/lib/dbus/machine-id']
  - [cloud-init, clean, --logs, --seed]
power_state:
  mode: poweroff
  message: forgejo-fleet runner image baked
  timeout: 60
  condition: true
EOF
}

if [[ "$command" == render ]]; then
  render
  exit 0
fi

work="$(mktemp -d)"
builder=""
cleanup() {
  local rc=$?
  if [[ -n "$builder" ]]; then
    echo "bake: deleting builder $builder" >&2
    if [[ "$command" == hetzner ]]; then
      hcloud server delete "$builder" >/dev/null || echo "bake: could not delete server $builder: delete it by hand" >&2
    else
      aws ec2 terminate-instances --region "$region" --instance-ids "$builder" >/dev/null ||
        echo "bake: could not terminate $builder: terminate it by hand" >&2
    fi
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
render >"$work/user-data.yaml"

if [[ "$command" == hetzner ]]; then
  command -v hcloud >/dev/null 2>&1 || die "the hcloud CLI is required (https://github.com/hetznercloud/cli)" 2
  [[ -n "${HCLOUD_TOKEN:-}" ]] || die "HCLOUD_TOKEN is not set (a read-write API token of the project)" 2
  echo "bake: creating builder $name ($server_type, $location, $base_image)"
  builder="$(hcloud server create --name "$name" --type "$server_type" --location "$location" \
    --image "$base_image" --user-data-from-file "$work/user-data.yaml" --label forgejo-fleet-bake=true \
    -o json | jq -r '.server.id')"
  [[ "$builder" =~ ^[0-9]+$ ]] || die "hcloud server create did not return a server id"
  echo "bake: waiting for $builder to install and power off (up to 20 min)"
  deadline=$((SECONDS + 1200))
  until [[ "$(hcloud server describe "$builder" -o json | jq -r '.status')" == off ]]; do
    ((SECONDS < deadline)) || die "builder $builder did not power off in 20 min; see its console"
    sleep 10
  done
  image="$(hcloud server create-image --type snapshot --description "$name" \
    --label "forgejo-fleet-runner=${version}" "$builder" -o json | jq -r '.image.id')"
  [[ "$image" =~ ^[0-9]+$ ]] || die "hcloud server create-image did not return an image id"
  echo "bake: snapshot $image (use image: {id: $image}, or {label_selector: forgejo-fleet-runner=${version}})"
  echo "$image"
  exit 0
fi

command -v aws >/dev/null 2>&1 || die "the aws CLI is required" 2
[[ "$base_ami" =~ ^ami-[0-9a-f]{8,17}$ ]] || die "--base-ami is required (a stock Ubuntu 24.04 or Debian 12 AMI of $region)" 2
args=(--region "$region" --image-id "$base_ami" --instance-type "$instance_type" --count 1
  --user-data "file://$work/user-data.yaml"
  --instance-initiated-shutdown-behavior stop
  --metadata-options "HttpTokens=required,HttpPutResponseHopLimit=1"
  --tag-specifications "ResourceType=instance,Tags=[{Key=Name,Value=$name},{Key=forgejo-fleet-bake,Value=true}]")
[[ -z "$subnet" ]] || args+=(--subnet-id "$subnet")
echo "bake: launching builder $name ($instance_type from $base_ami in $region)"
builder="$(aws ec2 run-instances "${args[@]}" --query 'Instances[0].InstanceId' --output text)"
[[ "$builder" =~ ^i-[0-9a-f]+$ ]] || die "aws ec2 run-instances did not return an instance id"
echo "bake: waiting for $builder to install and stop"
aws ec2 wait instance-stopped --region "$region" --instance-ids "$builder" ||
  die "builder $builder did not stop; see aws ec2 get-console-output --instance-id $builder"
image="$(aws ec2 create-image --region "$region" --instance-id "$builder" --name "$name" \
  --description "forgejo-fleet runner: forgejo-runner $version + Docker" \
  --tag-specifications "ResourceType=image,Tags=[{Key=forgejo-fleet-runner,Value=$version}]" \
  --query ImageId --output text)"
[[ "$image" =~ ^ami-[0-9a-f]+$ ]] || die "aws ec2 create-image did not return an AMI id"
aws ec2 wait image-available --region "$region" --image-ids "$image" || die "AMI $image did not become available"
echo "bake: AMI $image (use image_id: $image)"
echo "$image"
