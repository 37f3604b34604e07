/** Serial codes: 20 characters of Crockford base32 (100 bits from the CSPRNG), shown in groups of five. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function formatCode(random: Uint8Array): string {
  let bits = 0, value = 0, out = '';
  for (const byte of random) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 20) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{5}/g)!.join('-');
}

/** What a customer typed, as stored: upper case, separators and spaces dropped, I/L read as 1 and O as 0. */
export function normalizeCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
}

export const CODE_BYTES = 13;
