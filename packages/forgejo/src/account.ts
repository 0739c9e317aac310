import { z } from 'zod';

/** A user or organization as it appears inside other objects (`owner` of a repository). */
export const AccountRef = z.object({
  id: z.number().int(),
  /** Users have `login`; organizations answer `username` (and `name`). */
  login: z.string().optional(),
  username: z.string().optional(),
});

/** `GET /repos/{owner}/{repo}` (Forgejo `Repository`): only the fields that place it in a scope. */
export const Repository = z.object({
  id: z.number().int(),
  name: z.string(),
  full_name: z.string(),
  owner: AccountRef,
});
export type Repository = z.infer<typeof Repository>;

/** `GET /orgs/{org}` (Forgejo `Organization`). */
export const Organization = z.object({
  id: z.number().int(),
  /** The org's login name. */
  username: z.string().optional(),
  name: z.string().optional(),
});
export type Organization = z.infer<typeof Organization>;

/** `GET /user` (Forgejo `User`): the token owner. */
export const User = z.object({
  id: z.number().int(),
  login: z.string(),
});
export type User = z.infer<typeof User>;
