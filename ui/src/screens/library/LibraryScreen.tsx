import { useEffect, useState } from "react";
import { api, asAppError, type AppError, type DeletionPlan, type InterruptedRun, type PersonaCard } from "../../api";
import { useRouter } from "../../app/router";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { EmptyState } from "../../components/EmptyState";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Icon } from "../../components/Icon";
import { useI18n } from "../../i18n";
import { baseName, formatRelative } from "../../lib/format";

interface PendingDelete {
  card: PersonaCard;
  plan: DeletionPlan;
}

/** Most recently used first: last chat, else creation. */
function sortCards(list: PersonaCard[]): PersonaCard[] {
  return [...list].sort((a, b) => (b.last_chat ?? b.created_at) - (a.last_chat ?? a.created_at));
}

/** The personas in the library, as cards. */
export function LibraryScreen() {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const [cards, setCards] = useState<PersonaCard[] | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [pending, setPending] = useState<PendingDelete | null>(null);
  const [interrupted, setInterrupted] = useState<InterruptedRun[]>([]);

  // Bumped to load the list again.
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);

  useEffect(() => {
    let live = true;
    api
      .libraryList()
      .then((list) => {
        if (live) setCards(sortCards(list));
      })
      .catch((e: unknown) => {
        if (!live) return;
        setError(asAppError(e));
        setCards((c) => c ?? []);
      });
    return () => {
      live = false;
    };
  }, [version]);

  // Training runs cut short by a crash or a closed window: offer to resume them.
  useEffect(() => {
    let live = true;
    api
      .runsInterrupted()
      .then((runs) => {
        if (live) setInterrupted(runs ?? []);
      })
      .catch(() => {
        // Not fatal: the persona's training screen offers to resume too.
      });
    return () => {
      live = false;
    };
  }, []);

  /** Run one action at a time, showing what went wrong. */
  const run = async (key: string, action: () => Promise<void>) => {
    setBusy(key);
    setError(null);
    setNotice("");
    try {
      await action();
    } catch (e) {
      setError(asAppError(e));
    } finally {
      setBusy(null);
    }
  };

  const open = (card: PersonaCard) =>
    run(`open-${card.id}`, async () => {
      if (card.dataset_id == null) return;
      const view = await api.datasetOpen(card.dataset_id);
      navigate({ name: "dataset", view });
    });

  const exportPack = (card: PersonaCard) =>
    run(`export-${card.id}`, async () => {
      const path = await api.pickSavePath(`${card.name}.zip`);
      if (!path) return;
      const written = await api.personaExport(card.id, path);
      setNotice(t("library.exported", { name: card.name, path: written || path }));
    });

  const askDelete = (card: PersonaCard) =>
    run(`delete-${card.id}`, async () => {
      const plan = await api.personaDeletePlan(card.id);
      setPending({ card, plan });
    });

  const confirmDelete = () => {
    const p = pending;
    if (!p) return;
    void run("deleting", async () => {
      try {
        await api.personaDelete(p.card.id);
      } finally {
        setPending(null);
      }
      setNotice(t("library.deleted", { name: p.card.name }));
      reload();
    });
  };

  const importPack = () =>
    run("import-pack", async () => {
      const paths = await api.pickFiles(false);
      if (!paths || paths.length === 0) return;
      await api.personaImport(paths[0]);
      setNotice(t("library.imported", { name: baseName(paths[0]) }));
      reload();
    });

  return (
    <div className="screen">
      <header className="screen__header">
        <div>
          <h1 className="screen__title">{t("library.title")}</h1>
          <p className="screen__subtitle">{t("library.subtitle")}</p>
        </div>
        <div className="toolbar">
          <button type="button" className="button" onClick={() => void importPack()} disabled={busy !== null}>
            <Icon name="download" />
            {t("library.importPack")}
          </button>
          <button type="button" className="button button--primary" onClick={() => navigate({ name: "import" })}>
            <Icon name="plus" />
            {t("library.newPersona")}
          </button>
        </div>
      </header>

      {interrupted.map((r) => (
        <div key={r.run.id} className="banner" data-testid="library-interrupted">
          <Icon name="alert" />
          <p className="banner__text">{t("train.libraryInterrupted", { name: r.persona_name })}</p>
          <button
            type="button"
            className="button button--primary button--small"
            onClick={() => navigate({ name: "train", personaId: r.persona })}
          >
            <Icon name="play" size={14} />
            {t("train.resume")}
          </button>
        </div>
      ))}

      {error && <ErrorMessage error={error} onDismiss={() => setError(null)} />}
      <p className="status-line" role="status">
        {notice}
      </p>

      {cards === null ? (
        <div className="card-grid" aria-busy="true" aria-label={t("common.loading")}>
          {[0, 1, 2].map((i) => (
            <div key={i} className="card persona-card persona-card--skeleton" />
          ))}
        </div>
      ) : cards.length === 0 ? (
        <EmptyState
          icon="users"
          title={t("library.emptyTitle")}
          action={
            <button type="button" className="button button--primary" onClick={() => navigate({ name: "import" })}>
              <Icon name="plus" />
              {t("library.emptyAction")}
            </button>
          }
        >
          <p>{t("library.emptyText")}</p>
        </EmptyState>
      ) : (
        <ul className="card-grid" aria-label={t("library.title")}>
          {cards.map((card) => (
            <li key={card.id}>
              <PersonaCardView
                card={card}
                busy={busy}
                onOpen={() => void open(card)}
                onTrain={() => navigate({ name: "train", personaId: card.id })}
                onChat={() => navigate({ name: "chat", personaId: card.id })}
                onExport={() => void exportPack(card)}
                onDelete={() => void askDelete(card)}
              />
            </li>
          ))}
        </ul>
      )}

      {pending && (
        <ConfirmDialog
          title={t("library.deleteTitle", { name: pending.card.name })}
          confirmLabel={t("library.deleteConfirm")}
          danger
          busy={busy === "deleting"}
          onConfirm={confirmDelete}
          onCancel={() => setPending(null)}
        >
          <DeletionPlanView plan={pending.plan} />
        </ConfirmDialog>
      )}
    </div>
  );
}

function PersonaCardView({
  card,
  busy,
  onOpen,
  onTrain,
  onChat,
  onExport,
  onDelete,
}: {
  card: PersonaCard;
  busy: string | null;
  onOpen: () => void;
  onTrain: () => void;
  onChat: () => void;
  onExport: () => void;
  onDelete: () => void;
}) {
  const { t, lang } = useI18n();
  const initial = (card.name || card.character || "?").slice(0, 1).toUpperCase();
  return (
    <article className="card persona-card" data-testid="persona-card" aria-label={card.name}>
      <div className="persona-card__head">
        {card.avatar ? (
          <img className="avatar" src={card.avatar} alt="" width={56} height={56} />
        ) : (
          <span className="avatar avatar--placeholder" aria-hidden="true">
            {initial}
          </span>
        )}
        <div className="persona-card__titles">
          <h2 className="persona-card__name" title={card.name}>
            {card.name}
          </h2>
          <p className="persona-card__character" title={card.character}>
            {card.character}
          </p>
          <p className="persona-card__source" title={card.source_title}>
            {card.source_title || t("library.noSource")}
          </p>
        </div>
      </div>
      <dl className="facts">
        <div>
          <dt>{t("library.dataset")}</dt>
          <dd>
            {card.dataset_id == null
              ? t("library.noDataset")
              : t("library.rows", { enabled: card.enabled_rows, total: card.dataset_rows })}
          </dd>
        </div>
        <div>
          <dt>{t("library.adapter")}</dt>
          <dd>
            <span className={card.adapters > 0 ? "badge badge--success" : "badge"}>
              {card.adapters > 0 ? t("library.adapterTrained") : t("library.noAdapter")}
            </span>
          </dd>
        </div>
        <div>
          <dt>{t("library.lastChat")}</dt>
          <dd>{card.last_chat != null ? formatRelative(card.last_chat, lang) : t("library.noChats")}</dd>
        </div>
      </dl>
      <div className="persona-card__actions">
        <button
          type="button"
          className={card.adapters > 0 ? "button button--primary button--small" : "button button--small"}
          data-testid="persona-chat"
          onClick={onChat}
          aria-label={t("train.chatNamed", { name: card.name })}
        >
          <Icon name="chat" size={14} />
          {t("train.chat")}
        </button>
        <button
          type="button"
          className={card.adapters > 0 ? "button button--small" : "button button--primary button--small"}
          data-testid="persona-train"
          onClick={onTrain}
          disabled={card.dataset_id == null}
          aria-label={t("train.trainNamed", { name: card.name })}
        >
          <Icon name="chart" size={14} />
          {t("train.train")}
        </button>
        <button
          type="button"
          className="button button--small"
          data-testid="persona-open"
          onClick={onOpen}
          disabled={card.dataset_id == null || busy !== null}
        >
          {t("library.open")}
        </button>
        <button type="button" className="button button--small" onClick={onExport} disabled={busy !== null}>
          {t("library.export")}
        </button>
        <button
          type="button"
          className="button button--small button--ghost-danger"
          onClick={onDelete}
          disabled={busy !== null}
          aria-label={t("library.deleteNamed", { name: card.name })}
        >
          <Icon name="trash" />
          {t("library.delete")}
        </button>
      </div>
    </article>
  );
}

function DeletionPlanView({ plan }: { plan: DeletionPlan }) {
  const { t } = useI18n();
  const goes: string[] = [];
  if (plan.datasets.length) goes.push(t("library.planDatasets", { count: plan.datasets.length }));
  if (plan.conversations.length) goes.push(t("library.planConversations", { count: plan.conversations.length }));
  if (plan.adapters.length) goes.push(t("library.planAdapters", { count: plan.adapters.length }));
  return (
    <div className="plan">
      <h3 className="plan__heading">{t("library.planGoes")}</h3>
      <ul className="plan__list">
        <li>{t("library.planPersona", { name: plan.persona })}</li>
        {goes.map((g) => (
          <li key={g}>{g}</li>
        ))}
        {plan.files.map((f) => (
          <li key={f} className="plan__file selectable">
            {f}
          </li>
        ))}
      </ul>
      <h3 className="plan__heading">{t("library.planStays")}</h3>
      {plan.kept_files.length ? (
        <ul className="plan__list">
          {plan.kept_files.map((f) => (
            <li key={f} className="plan__file selectable">
              {f}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">{t("library.planNothingKept")}</p>
      )}
    </div>
  );
}
