import { useEffect, useEffectEvent, useMemo, useState } from "react";
import { api, onFileDrop, onFilesOpened, type UpdateInfo } from "./api";
import { isInternalDrag } from "./app/dragState";
import { ImportProvider } from "./app/ImportProvider";
import { useImportSession } from "./app/importSession";
import { NAV_ITEMS, RouterContext, useRouter, type Route } from "./app/router";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Icon } from "./components/Icon";
import { useI18n } from "./i18n";
import { I18nProvider } from "./i18n/I18nProvider";
import { CastScreen } from "./screens/cast/CastScreen";
import { DatasetScreen } from "./screens/dataset/DatasetScreen";
import { ImportScreen } from "./screens/import/ImportScreen";
import { LibraryScreen } from "./screens/library/LibraryScreen";
import { SettingsScreen } from "./screens/settings/SettingsScreen";
import { ModelsScreen } from "./screens/models/ModelsScreen";
import { TrainScreen } from "./screens/train/TrainScreen";
import { ChatScreen } from "./screens/chat/ChatScreen";

/** The app: language, navigation and the import job around the window. */
export function App({ initialRoute = { name: "library" } }: { initialRoute?: Route }) {
  const [route, setRoute] = useState<Route>(initialRoute);
  const router = useMemo(() => ({ route, navigate: setRoute }), [route]);
  return (
    <I18nProvider>
      <RouterContext.Provider value={router}>
        <ImportProvider>
          <Shell />
        </ImportProvider>
      </RouterContext.Provider>
    </I18nProvider>
  );
}

function Shell() {
  const { t } = useI18n();
  const { route, navigate } = useRouter();
  const importer = useImportSession();
  const [dropHover, setDropHover] = useState(false);

  // Files dropped anywhere: go to Import and import them as one source.
  const onDrop = useEffectEvent((paths: string[]) => {
    setDropHover(false);
    navigate({ name: "import" });
    void importer.start(paths);
  });
  const onHover = useEffectEvent((over: boolean) => setDropHover(over && !isInternalDrag()));
  useEffect(() => {
    let disposed = false;
    let stop: (() => void) | undefined;
    onFileDrop(
      (paths) => onDrop(paths),
      (over) => onHover(over),
    )
      .then((unlisten) => {
        if (disposed) unlisten();
        else stop = unlisten;
      })
      .catch(() => {
        // Not inside the desktop shell (a browser preview): no file drops.
      });
    return () => {
      disposed = true;
      stop?.();
    };
  }, []);

  // A newer release, when the user opted in (the engine makes no call otherwise).
  const [update, setUpdate] = useState<UpdateInfo | null>(null);
  useEffect(() => {
    let live = true;
    api
      .updateCheck()
      .then((u) => live && setUpdate(u?.newer ? u : null))
      .catch(() => {
        // Offline or not in the shell: say nothing at start; Settings can check again.
      });
    return () => {
      live = false;
    };
  }, []);

  // Files opened with Dramatis (a .fountain or .epub from the file manager).
  const onOpened = useEffectEvent((paths: string[]) => {
    if (paths.length) onDrop(paths);
  });
  useEffect(() => {
    let disposed = false;
    let stop: (() => void) | undefined;
    api
      .openedFiles()
      .then((paths) => onOpened(paths))
      .catch(() => {
        // Not inside the desktop shell: nothing was opened with it.
      });
    onFilesOpened((paths) => onOpened(paths))
      .then((unlisten) => {
        if (disposed) unlisten();
        else stop = unlisten;
      })
      .catch(() => {});
    return () => {
      disposed = true;
      stop?.();
    };
  }, []);

  return (
    <div className="app">
      <aside className="sidebar">
        <div className="sidebar__brand">
          <span className="sidebar__logo" aria-hidden="true">
            D
          </span>
          <span className="sidebar__name">{t("app.name")}</span>
        </div>
        <nav aria-label={t("nav.label")}>
          <ul className="nav">
            {NAV_ITEMS.map((item) => {
              const current = item.current(route);
              return (
                <li key={item.screen}>
                  <button
                    type="button"
                    className={current ? "nav__item nav__item--current" : "nav__item"}
                    aria-current={current ? "page" : undefined}
                    data-testid={`nav-${item.screen}`}
                    onClick={() => navigate({ name: item.screen })}
                  >
                    <Icon name={item.icon} />
                    <span>{t(item.label)}</span>
                    {item.screen === "import" && importer.running && (
                      <span className="nav__badge" title={t("import.running")}>
                        <span className="visually-hidden">{t("import.running")}</span>
                      </span>
                    )}
                  </button>
                </li>
              );
            })}
          </ul>
        </nav>
        {update && (
          <p className="sidebar__update" data-testid="update-available">
            {t("settings.updatesNewer", { latest: update.latest, url: update.url })}
          </p>
        )}
      </aside>
      <main className="main">
        <ErrorBoundary key={route.name}>
          <Screen route={route} />
        </ErrorBoundary>
      </main>
      {dropHover && (
        <div className="drop-overlay" aria-live="polite">
          <div className="drop-overlay__panel">
            <Icon name="upload" size={40} />
            <p>{t("import.dropToImport")}</p>
          </div>
        </div>
      )}
    </div>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.name) {
    case "library":
      return <LibraryScreen />;
    case "import":
      return <ImportScreen />;
    case "cast":
      return <CastScreen />;
    case "dataset": {
      const target = route.view.target;
      const key = "draft" in target ? `draft-${target.draft}` : `dataset-${target.dataset}`;
      return <DatasetScreen key={key} initialView={route.view} initialNotice={route.notice} />;
    }
    case "settings":
      return <SettingsScreen />;
    case "models":
      return <ModelsScreen />;
    case "train":
      return <TrainScreen key={route.personaId} personaId={route.personaId} />;
    case "chat":
      return (
        <ChatScreen
          key={`${route.personaId}-${route.conversation ?? "new"}`}
          personaId={route.personaId}
          conversation={route.conversation}
        />
      );
  }
}
