/** The models on this computer, recommended downloads and devices. */
export function ModelsScreen() {
  return <div className="screen" />;
}
