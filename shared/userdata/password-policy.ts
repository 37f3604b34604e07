/** The password policy of the security settings, and what a password breaks of it. */
export interface PasswordPolicy {
  min_length: number;
  require_numbers: boolean;
  require_special_chars: boolean;
  require_uppercase: boolean;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = { min_length: 8, require_numbers: false, require_special_chars: false, require_uppercase: false };

export function passwordProblems(policy: PasswordPolicy, password: string): string[] {
  const problems: string[] = [];
  if ([...password].length < policy.min_length) problems.push(`must be at least ${policy.min_length} characters`);
  if (policy.require_numbers && !/\d/.test(password)) problems.push('must contain a digit');
  if (policy.require_uppercase && !/\p{Lu}/u.test(password)) problems.push('must contain an upper-case letter');
  if (policy.require_special_chars && !/[^\p{L}\p{N}]/u.test(password)) problems.push('must contain a character that is neither a letter nor a digit');
  return problems;
}
