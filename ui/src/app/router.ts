import { createContext, useContext } from "react";
import type { DatasetView } from "../api";
import type { MessageKey } from "../i18n";

/** Every screen the app can show. */
export type Route =
  | { name: "library" }
  | { name: "import" }
  | { name: "cast" }
  | { name: "dataset"; view: DatasetView; notice?: MessageKey }
  | { name: "settings" }
  | { name: "models" }
  /** A persona's training, evaluation, runs and exports. */
  | { name: "train"; personaId: number }
  /** Chat with a persona; `conversation` opens a saved one. */
  | { name: "chat"; personaId: number; conversation?: number };

export type ScreenName = Route["name"];

export interface NavItem {
  /** The screen the item opens (screens without parameters only). */
  screen: "library" | "import" | "models" | "settings";
  label: MessageKey;
  icon: "library" | "plus" | "cpu" | "settings";
  /** Screens during which this item shows as current. */
  current: (route: Route) => boolean;
}

/** The sidebar, in order. Train and Chat belong to a persona: they open from its card. */
export const NAV_ITEMS: NavItem[] = [
  {
    screen: "library",
    label: "nav.library",
    icon: "library",
    current: (r) =>
      r.name === "library" ||
      r.name === "train" ||
      r.name === "chat" ||
      (r.name === "dataset" && "dataset" in r.view.target),
  },
  {
    screen: "import",
    label: "nav.import",
    icon: "plus",
    current: (r) => r.name === "import" || r.name === "cast" || (r.name === "dataset" && "draft" in r.view.target),
  },
  { screen: "models", label: "nav.models", icon: "cpu", current: (r) => r.name === "models" },
  { screen: "settings", label: "nav.settings", icon: "settings", current: (r) => r.name === "settings" },
];

export interface Router {
  route: Route;
  navigate: (route: Route) => void;
}

export const RouterContext = createContext<Router | null>(null);

export function useRouter(): Router {
  const ctx = useContext(RouterContext);
  if (!ctx) throw new Error("useRouter outside <RouterContext>");
  return ctx;
}
