import { useEffect, useState, type FormEvent } from "react";
import { api, asAppError, type AppError, type DeviceInfo, type LocalModel, type RecommendedModel } from "../../api";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { useI18n } from "../../i18n";
import { attachDownload, useDownloads } from "./downloads";
import { DevicesPanel } from "./DevicesPanel";
import { LocalModelList } from "./LocalModelList";
import { RecommendedModels } from "./RecommendedModels";

/** The models on this computer, recommended downloads and devices. */
export function ModelsScreen() {
  const { t } = useI18n();
  const downloads = useDownloads();
  const [models, setModels] = useState<LocalModel[] | null>(null);
  const [recommended, setRecommended] = useState<RecommendedModel[] | null>(null);
  const [devices, setDevices] = useState<DeviceInfo[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);

  // The lists, again after each finished download or added model.
  useEffect(() => {
    let live = true;
    api
      .modelsList()
      .then((list) => live && setModels(list))
      .catch((e: unknown) => {
        if (!live) return;
        setError(asAppError(e));
        setModels((m) => m ?? []);
      });
    api
      .modelsRecommended()
      .then((list) => live && setRecommended(list))
      .catch((e: unknown) => {
        if (!live) return;
        setError(asAppError(e));
        setRecommended((r) => r ?? []);
      });
    return () => {
      live = false;
    };
  }, [version, downloads.finished]);

  useEffect(() => {
    let live = true;
    api
      .devices()
      .then((list) => live && setDevices(list))
      .catch(() => live && setDevices([]));
    // Downloads started before the window was reloaded: follow them again.
    api
      .jobsList()
      .then((jobs) => {
        if (!live) return;
        for (const j of jobs ?? []) {
          if (j.kind === "download" && j.state === "running") void attachDownload(j.label, j.id);
        }
      })
      .catch(() => {
        // Not fatal: a running download then shows once it has finished.
      });
    return () => {
      live = false;
    };
  }, []);

  return (
    <div className="screen">
      <header className="screen__header">
        <div>
          <h1 className="screen__title">{t("models.title")}</h1>
          <p className="screen__subtitle">{t("models.subtitle")}</p>
        </div>
        <button type="button" className="button" onClick={reload}>
          <Icon name="refresh" />
          {t("models.refresh")}
        </button>
      </header>

      {error && <ErrorMessage error={error} onDismiss={() => setError(null)} />}

      <section className="card section" aria-labelledby="models-local-title">
        <div className="section__head">
          <h2 id="models-local-title" className="section__title">
            {t("models.localTitle")}
          </h2>
          <p className="section__help">{t("models.localHelp")}</p>
        </div>
        <LocalModelList models={models} />
        <AddModelForm onAdded={reload} />
      </section>

      <section className="section section--bare" aria-labelledby="models-recommended-title">
        <div className="section__head">
          <h2 id="models-recommended-title" className="section__title">
            {t("models.recommendedTitle")}
          </h2>
          <p className="section__help">{t("models.recommendedHelp")}</p>
        </div>
        <RecommendedModels models={recommended} downloads={downloads} />
      </section>

      <DevicesPanel devices={devices} />
    </div>
  );
}

/** Paste or choose the path of a .gguf file or a model folder. */
function AddModelForm({ onAdded }: { onAdded: () => void }) {
  const { t } = useI18n();
  const [path, setPath] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<AppError | null>(null);
  const [notice, setNotice] = useState("");

  const add = async (p: string) => {
    const target = p.trim().replace(/^["']|["']$/g, "").trim();
    if (!target) {
      setError({ kind: "input", message: t("models.addNoPath"), hint: t("models.addNoPathHint") });
      return;
    }
    setBusy(true);
    setError(null);
    setNotice("");
    try {
      const m = await api.modelAdd(target);
      setPath("");
      setNotice(t("models.added", { name: m.reference }));
      onAdded();
    } catch (e) {
      setError(asAppError(e));
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void add(path);
  };

  const browse = async (folder: boolean) => {
    setError(null);
    try {
      const chosen = folder ? await api.pickFolder() : (await api.pickFiles(false))?.[0];
      if (!chosen) return;
      setPath(chosen);
      await add(chosen);
    } catch (e) {
      setError(asAppError(e));
    }
  };

  return (
    <form className="add-model" onSubmit={submit}>
      <label htmlFor="model-path" className="field-label">
        {t("models.addLabel")}
      </label>
      <div className="add-model__row">
        <input
          id="model-path"
          className="input add-model__input"
          data-testid="model-path"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          placeholder={t("models.addPlaceholder")}
          spellCheck={false}
          autoComplete="off"
          disabled={busy}
        />
        <button type="button" className="button" onClick={() => void browse(false)} disabled={busy}>
          <Icon name="file" />
          {t("models.browseFile")}
        </button>
        <button type="button" className="button" onClick={() => void browse(true)} disabled={busy}>
          <Icon name="folder" />
          {t("models.browseFolder")}
        </button>
        <button type="submit" className="button button--primary" data-testid="model-add" disabled={busy}>
          {busy ? t("models.adding") : t("models.add")}
        </button>
      </div>
      <p className="field-help">{t("models.addHelp")}</p>
      {error && <ErrorMessage error={error} onDismiss={() => setError(null)} />}
      <p className="status-line status-line--flat" role="status">
        {notice}
      </p>
    </form>
  );
}
