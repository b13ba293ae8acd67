<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml"/>
  <xsl:template match="/root">
    <out>
      <xsl:for-each select="rec">
        <xsl:sort select="v" data-type="number"/>
        <r n="{name}" t="{tag}"><xsl:value-of select="concat(@id, '-', @x)"/></r>
      </xsl:for-each>
    </out>
  </xsl:template>
</xsl:stylesheet>
