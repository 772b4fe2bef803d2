import { type PlaneSet, type ViewRenditions, renderView } from '../../libs/imaging/src/renditions.js';

export type RenderedView = { viewId: string; renditions: ViewRenditions };

/** The viewer images of each view, one view after the other: a view's planes and images are the largest allocation of a job. */
export async function renderViews(views: { id: string; width: number; height: number; airValue: number; planes: PlaneSet['planes'] }[]): Promise<RenderedView[]> {
  const rendered: RenderedView[] = [];
  for (const view of views) rendered.push({ viewId: view.id, renditions: await renderView(view) });
  return rendered;
}
