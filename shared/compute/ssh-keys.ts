/** OpenSSH public keys as authorized_keys lines take them: "<type> <base64 blob> [comment]", the blob naming its own type. */
export const SSH_KEY_TYPES = [
  'ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

/** Why `line` is not a public key, or null when it is one. */
export function sshPublicKeyProblem(line: string): string | null {
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,2})(?: ([^\r\n]{0,256}))?$/.exec(line.trim());
  if (!m) return 'must be one line "<type> <base64 key> [comment]"';
  const [, type, b64] = m;
  if (!(SSH_KEY_TYPES as readonly string[]).includes(type)) return `key type ${type} is not one of ${SSH_KEY_TYPES.join(', ')}`;
  const blob = Buffer.from(b64, 'base64');
  if (blob.length < 4 + type.length) return 'the key is truncated';
  const named = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1');
  if (named !== type) return `the key's data says ${JSON.stringify(named.slice(0, 40))}, not ${type}`;
  if (type === 'ssh-ed25519' && blob.length !== 51) return 'an ed25519 key is 32 bytes';
  return null;
}
