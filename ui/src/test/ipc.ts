// Test helpers: a mocked engine that records every command it is sent.
import { Channel } from "@tauri-apps/api/core";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type { AppError, JobMessage } from "../api";

export type Handler = (args: Record<string, unknown>) => unknown;

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

/** Throw this from a handler to make the command fail like the engine does. */
export function appError(message: string, hint?: string, kind = "input"): AppError {
  return { kind, message, hint };
}

/**
 * Mock the shell: each command answers with its handler (a value or a
 * function of the arguments); unmocked commands fail. Returns the calls made.
 */
export function mockEngine(handlers: Record<string, Handler | unknown>): Call[] {
  const calls: Call[] = [];
  mockWindows("main");
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      if (!(cmd in handlers)) {
        const err: AppError = { kind: "internal", message: `unmocked command ${cmd}` };
        throw err;
      }
      const h = handlers[cmd];
      return typeof h === "function" ? (h as Handler)(args) : h;
    },
    { shouldMockEvents: true },
  );
  return calls;
}

export function callsOf(calls: Call[], cmd: string): Record<string, unknown>[] {
  return calls.filter((c) => c.cmd === cmd).map((c) => c.args);
}

/** Send a job message through the channel a command was given. */
export function send<T>(channel: unknown, message: JobMessage<T>): void {
  (channel as Channel<JobMessage<T>>).onmessage(message);
}
