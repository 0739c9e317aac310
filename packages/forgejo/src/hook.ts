import { z } from 'zod';

/** A webhook (Forgejo `Hook`). Forgejo does not return the secret. */
export const Hook = z.object({
  id: z.number().int(),
  type: z.string(),
  active: z.boolean(),
  events: z
    .array(z.string())
    .nullish()
    .transform((v) => v ?? []),
  /** `url`, `content_type`, and for admin hooks `is_system_webhook`, among others. */
  config: z
    .record(z.string(), z.string())
    .nullish()
    .transform((v) => v ?? {}),
  branch_filter: z.string().default(''),
});
export type Hook = z.infer<typeof Hook>;

export type HookType =
  | 'forgejo'
  | 'dingtalk'
  | 'discord'
  | 'gitea'
  | 'gogs'
  | 'msteams'
  | 'slack'
  | 'telegram'
  | 'feishu'
  | 'wechatwork'
  | 'packagist';

export type HookConfig = {
  url: string;
  content_type: 'json' | 'form';
  secret?: string;
  /** Admin hooks only: `'true'` fires for every repository; otherwise it is a default hook for new repos. */
  is_system_webhook?: 'true' | 'false';
  [key: string]: string | undefined;
};

/** Body of `POST …/hooks` (Forgejo `CreateHookOption`). Forgejo defaults `active` to false. */
export type CreateHook = {
  type: HookType;
  config: HookConfig;
  /** Forgejo defaults to `["push"]` when empty. */
  events?: readonly string[];
  branch_filter?: string;
  authorization_header?: string;
  active?: boolean;
};

/**
 * Body of `PATCH …/hooks/{id}` (Forgejo `EditHookOption`). Forgejo 15 does not update the
 * `action_run_*` event flags on edit: recreate the hook to change those.
 */
export type EditHook = {
  config?: Partial<HookConfig>;
  events?: readonly string[];
  branch_filter?: string;
  authorization_header?: string;
  active?: boolean;
};
