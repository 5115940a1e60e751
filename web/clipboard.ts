/**
 * @module
 * Copying text for the member to paste. The clipboard API is missing outside secure contexts and
 * refused by some WebViews; the older `execCommand('copy')` on a selected textarea still works in
 * many of those. False when neither did: the screen then shows the text for a manual copy.
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.cssText = 'position:fixed;top:0;left:0;opacity:0';
    document.body.append(area);
    area.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    } finally {
      area.remove();
    }
  }
}
