import type { DeviceInfo } from "../../api";
import { Icon } from "../../components/Icon";
import { useI18n } from "../../i18n";

/** What Dramatis can compute on, and which one it will use. */
export function DevicesPanel({ devices }: { devices: DeviceInfo[] | null }) {
  const { t } = useI18n();
  const gpus = devices?.filter((d) => d.name !== "cpu") ?? [];
  return (
    <section className="card section" aria-labelledby="models-devices-title">
      <div className="section__head">
        <h2 id="models-devices-title" className="section__title">
          {t("models.devicesTitle")}
        </h2>
        <p className="section__help">{gpus.length > 0 ? t("models.devicesHelpGpu") : t("models.devicesHelpCpu")}</p>
      </div>
      {devices === null ? (
        <p className="muted">{t("common.loading")}</p>
      ) : devices.length === 0 ? (
        <p className="muted">{t("models.devicesUnknown")}</p>
      ) : (
        <ul className="device-list">
          {devices.map((d) => (
            <li
              key={d.name}
              className={d.chosen ? "device device--chosen" : "device"}
              data-testid="device"
              aria-current={d.chosen ? "true" : undefined}
            >
              <span className="device__icon" aria-hidden="true">
                <Icon name="cpu" size={22} />
              </span>
              <div className="device__main">
                <p className="device__name">
                  {d.name === "cpu" ? t("models.deviceCpu") : t("models.deviceGpu")}
                  <span className="device__id">{d.name}</span>
                  {d.chosen && <span className="badge badge--success">{t("models.deviceChosen")}</span>}
                </p>
                <p className="device__description selectable">{d.description}</p>
                {d.features.length > 0 && (
                  <ul className="chips" aria-label={t("models.deviceFeatures")}>
                    {d.features.map((f) => (
                      <li key={f} className="chip chip--static">
                        {f}
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
