import type { BrowserContext, Page } from 'playwright-core';

export interface ScenarioEnv {
  url: string;
  seed: number;
  newProfile(): string;
  launch(profileDir: string): Promise<BrowserContext>;
  openTestPage(ctx: BrowserContext, url: string): Promise<Page>;
}

export interface Scenario {
  name: string;
  timeoutMs?: number;
  run(env: ScenarioEnv): Promise<void>;
}

export const scenarios: Scenario[] = [];
