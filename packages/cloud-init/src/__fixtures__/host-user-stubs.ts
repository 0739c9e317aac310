/**
 * Stub bodies that fake the user database for the host-user functions (host-user.ts), shared by
 * the cold and the warm sandboxes. $SANDBOX/passwd is /etc/passwd: getent reads it, useradd
 * appends to it (uid and gid 1001, home under $SANDBOX/home, created as --create-home does),
 * and `id -Gn USER` answers $STUB_ID_GROUPS, or just the user's own group.
 */
export const PASSWD_STUB_BODIES: Readonly<Record<string, string>> = {
  getent: 'grep "^$2:" "$SANDBOX/passwd" 2>/dev/null || exit 2',
  useradd: [
    'for user in "$@"; do :; done',
    'echo "$user:x:1001:1001::$SANDBOX/home/$user:/bin/sh" >> "$SANDBOX/passwd"',
    'mkdir -p "$SANDBOX/home/$user"',
  ].join('\n'),
  id: '[ -n "$STUB_ID_GROUPS" ] && echo "$STUB_ID_GROUPS" && exit 0; echo "$2"',
};

/** A passwd line for a user that exists before the bootstrap runs. */
export function passwdLine(root: string, user: string, uid = 1500, gid = 1500): string {
  return `${user}:x:${uid}:${gid}::${root}/home/${user}:/bin/sh\n`;
}
