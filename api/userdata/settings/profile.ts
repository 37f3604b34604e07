import { z } from 'zod';
import { uniqueOr409 } from '../../../shared/platform/errors';
import { User } from '../../../db/models/users/user';
import { audit } from '../../platform/audit';
import type { Caller } from '../../platform/caller';
import { EmailVerificationService, emailChange } from '../../platform/email-verification';
import type { AppDeps } from '../../platform/deps';
import type { TargetUser } from '../targets';

export const profileFields = {
  display_name: z.string().min(1).max(255).optional(),
  email: z.email().max(255).optional(),
  bio: z.string().max(2000).optional(),
  avatar_url: z.url({ protocol: /^https?$/ }).max(2000).optional(),
  phone: z.string().regex(/^\+?[0-9 ()-]{3,32}$/, 'must be a phone number').optional(),
  preferences: z.record(z.string().max(64), z.unknown()).optional()
    .refine((p) => p === undefined || JSON.stringify(p).length <= 16 * 1024, 'must be at most 16 KiB as JSON'),
};
export type ProfileUpdate = { [K in keyof typeof profileFields]?: z.infer<(typeof profileFields)[K]> };

/** A user's profile: display name and email on the user; bio, avatar, phone and preferences in its profile document. */
export class ProfileService {
  private readonly verification: EmailVerificationService;
  constructor(private readonly deps: AppDeps) {
    this.verification = new EmailVerificationService(deps);
  }

  async update(caller: Caller, target: TargetUser, body: ProfileUpdate) {
    const user = await User.live().findById(target.id).throwIfNotFound();
    const { display_name, email, ...rest } = body;
    const extra = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    const profile = { ...(user.profile ?? {}), ...extra };
    const change = emailChange(user.email, email);
    const updated = await uniqueOr409(async () => User.query().patchAndFetchById(user.id, {
      ...(display_name !== undefined ? { full_name: display_name } : {}),
      ...(change ?? {}),
      profile,
      updated_at: new Date(),
    }), 'That email address is in use', 'email');
    if (change) await this.verification.changed(caller, user.id, change.email);
    await audit(this.deps.knex, caller, {
      module: 'settings', action: 'profile_update', resourceType: 'user', resourceId: user.id,
      message: `Profile of ${user.username} updated`, details: { fields: Object.keys(body), email_changed: Boolean(change) },
    });
    const p = updated.profile as Record<string, unknown>;
    return {
      display_name: updated.full_name, email: updated.email, email_verified: updated.email_verified,
      bio: p.bio ?? null, avatar_url: p.avatar_url ?? null, phone: p.phone ?? null, preferences: p.preferences ?? {},
      updated_at: updated.updated_at,
    };
  }
}
